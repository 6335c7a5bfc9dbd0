"""The router against the real demo configuration (config.toml), built once per session."""

from __future__ import annotations

import pytest

from routing import RoutingRules
from settings import DEFAULT_CONFIG_PATH, Config, load_config


@pytest.fixture(scope="session")
def config() -> Config:
    # An empty environment: a CC_CONFIG or CC_ROUTING_* in the shell must not change the test.
    return load_config(DEFAULT_CONFIG_PATH, env={})


@pytest.fixture(scope="session")
def rules(config: Config) -> RoutingRules:
    return RoutingRules.from_config(config)
