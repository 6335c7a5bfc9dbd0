"""The time limits a routing decision implies: working hours per priority, which a service
type may shorten. Pure: the case board turns these hours into due dates on its calendar."""

from __future__ import annotations

from collections.abc import Mapping

LIMIT_NAMES = ("first_response", "resolution")
# Raising a case's priority must never give it more time than the priority itself allows.
RAISED_PRIORITIES = frozenset({"urgent", "high"})


def effective_limits(for_priority: Mapping[str, float], service_overrides: Mapping[str, float],
                     priority: str) -> dict[str, float]:
    """{"first_response", "resolution"} working hours for a case of this priority/service."""
    result = {}
    for name in LIMIT_NAMES:
        hours = for_priority[name]
        if name in service_overrides:
            hours = min(service_overrides[name], hours) if priority in RAISED_PRIORITIES \
                else service_overrides[name]
        result[name] = float(hours)
    return result
