"""Turn keyword hits into ranked candidates and a confidence.

A service's score is its strongest hit plus a share of its other, non-overlapping hits (more
evidence, more certainty, with diminishing returns). Strength maps a score onto 0..1
(one exact single-word hit ≈ 0.76, one exact two-word phrase ≈ 0.88); confidence then
discounts it by how close the best runner-up in another department comes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from routing.model import Hit

EXTRA_HIT_SHARE = 0.3  # weight of each further, distinct hit of the same service
MAX_EXTRA_HITS = 3
NEGATIVE_FACTOR = 0.2  # a service whose negative keyword is present keeps 20 % of its score
_SCALE = 0.7


@dataclass(frozen=True, slots=True)
class Candidate:
    service: int  # index into RoutingRules.services
    score: float
    hits: tuple[Hit, ...]  # the hits that count, strongest first
    vetoed_by: str | None = None  # the negative keyword that penalised it


def strength(score: float) -> float:
    """Map an unbounded score onto 0..1 (monotonic, saturating)."""
    return 1.0 - math.exp(-max(score, 0.0) / _SCALE)


def confidence(best: float, runner_up: float) -> float:
    """Strength of the best score, halved when a rival in another department ties it."""
    if best <= 0:
        return 0.0
    margin = max(best - runner_up, 0.0) / best
    return strength(best) * (0.5 + 0.5 * margin)


def rank(hits: Iterable[Hit], negatives: Iterable[Hit]) -> list[Candidate]:
    """Candidates (one per service with a hit), best first; ties keep configuration order."""
    by_service: dict[int, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_service[hit.keyword.owner].append(hit)
    vetoes: dict[int, str] = {}
    for hit in sorted(negatives, key=lambda h: -h.strength):
        vetoes.setdefault(hit.keyword.owner, hit.keyword.phrase)
    candidates = []
    for service, service_hits in by_service.items():
        counted = _distinct(service_hits)
        score = counted[0].strength + EXTRA_HIT_SHARE * sum(
            h.strength for h in counted[1:1 + MAX_EXTRA_HITS])
        veto = vetoes.get(service)
        if veto is not None:
            score *= NEGATIVE_FACTOR
        candidates.append(Candidate(service, score, tuple(counted), veto))
    candidates.sort(key=lambda c: (-c.score, c.service))
    return candidates


def _distinct(hits: list[Hit]) -> list[Hit]:
    """Strongest first, dropping hits whose words are all inside a stronger hit's words
    ("路灯" inside "路灯不亮", the same keyword found twice)."""
    if len(hits) == 1:  # most services have one hit
        return hits
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: -h.strength):
        if any(hit.span <= other.span or hit.keyword == other.keyword for other in kept):
            continue
        kept.append(hit)
    return kept
