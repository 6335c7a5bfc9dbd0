"""One decision from the keyword rules and the learned model.

Each side gives a department and a confidence: the rules' is their keyword strength
discounted by the nearest rival, the model's a probability calibrated on held-out past
cases. The two are pooled in log-odds (two pieces of evidence: agreeing they reinforce each
other, disagreeing the stronger wins with what is left of its lead), so a department named by
both is more certain than by either alone.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from routing.decision import Suggestion
from routing.learned import Prediction

_CLAMP = 0.02  # neither side is ever taken as certain, so the other can always weigh in


@dataclass(frozen=True)
class ModelView:
    """A prediction reduced to the departments and services the configuration knows."""

    departments: list[tuple[str, float]]  # best first
    best_service: Mapping[str, tuple[str | None, float]]  # department → (service, probability)
    similar: list[tuple[str, str | None]]


def view(prediction: Prediction, services_of: Mapping[str, frozenset[str]]) -> ModelView | None:
    departments: dict[str, float] = defaultdict(float)
    best_service: dict[str, tuple[str | None, float]] = {}
    for label, probability in prediction.probabilities:
        parsed = split_label(label, services_of)
        if parsed is None:
            continue  # a department or service removed from the configuration since
        department, service = parsed
        departments[department] += probability
        if department not in best_service or probability > best_service[department][1]:
            best_service[department] = (service, probability)
    total = sum(departments.values())
    if not total:
        return None
    ranked = sorted(((d, p / total) for d, p in departments.items()), key=lambda dp: -dp[1])
    similar = [parsed for parsed in (split_label(label, services_of)
                                     for label in prediction.similar) if parsed is not None]
    return ModelView(ranked, best_service, similar)


def split_label(label: str, services_of: Mapping[str, frozenset[str]]
                ) -> tuple[str, str | None] | None:
    department, _, service = label.partition("/")
    if department not in services_of or (service and service not in services_of[department]):
        return None
    return department, service or None


def pool(rule_confidence: float, model_confidence: float, agree: bool) -> float:
    """Log-odds pooling of two confidences about the same (agree) or rival departments."""
    def logit(p: float) -> float:
        p = min(max(p, _CLAMP), 1 - _CLAMP)
        return math.log(p / (1 - p))

    combined = logit(rule_confidence) + (1 if agree else -1) * logit(model_confidence)
    return 1 / (1 + math.exp(-combined))


def suggestions(rule_suggestions: Sequence[Suggestion], model: ModelView,
                limit: int) -> tuple[Suggestion, ...]:
    """The best of both lists, one entry per (department, service)."""
    scores: dict[tuple[str, str | None], float] = {}
    for department, service, score in rule_suggestions:
        scores[(department, service)] = max(scores.get((department, service), 0.0), score)
    for department, probability in model.departments[:limit]:
        service = model.best_service[department][0]
        key = (department, service)
        scores[key] = max(scores.get(key, 0.0), round(probability, 3))
    ranked = sorted(scores.items(), key=lambda item: -item[1])[:limit]
    return tuple((d, s, score) for (d, s), score in ranked)


def similar_reason(model: ModelView, department: str) -> str | None:
    """"3 of 5 similar past cases went to roads", or None when none did."""
    if not model.similar:
        return None
    same = [s for d, s in model.similar if d == department]
    if not same:
        return f"none of {len(model.similar)} similar past cases went to {department}"
    services = {s for s in same if s}
    target = f"{department}/{services.pop()}" if len(services) == 1 else department
    return f"{len(same)} of {len(model.similar)} similar past cases went to {target}"
