"""Routing: department, service type and priority for a contact, from its text.

Pure functions over plain data (no I/O): build `RoutingRules.from_config(config)` once, then
call `route(text, rules, …)` for every new case. `train(examples)` learns a `TextModel` from
past cases; `rules.with_model(model)` makes rules that use it alongside the keywords.
"""

from routing.decision import RoutingDecision
from routing.learned import TextModel, TrainingError, train
from routing.rules import RoutingRules, route

__all__ = ["RoutingDecision", "RoutingRules", "TextModel", "TrainingError", "route", "train"]
