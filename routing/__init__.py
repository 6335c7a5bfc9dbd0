"""Routing: department, service type and priority for a contact, from its text.

Pure functions over plain data (no I/O): build `RoutingRules.from_config(config)` once, then
call `route(text, rules, …)` for every new case.
"""

from routing.decision import RoutingDecision
from routing.rules import RoutingRules, route

__all__ = ["RoutingDecision", "RoutingRules", "route"]
