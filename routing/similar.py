"""Similar past cases, for the reasons a dispatcher reads ("3 of 5 similar past cases went to
roads/pothole"): an inverted index from a feature to a few past cases that have it.

Lists are capped, and only the query's most telling features are looked up, so a look-up
costs the same with 1,000 or 1,000,000 past cases.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

POSTINGS_CAP = 16  # past cases kept per feature
QUERY_FEATURES = 12  # the query's strongest features that are looked up
NEIGHBOURS = 5
MIN_SHARE = 0.35  # a neighbour shares at least this much of the query's looked-up weight


@dataclass(frozen=True, eq=False)
class SimilarCases:
    case_labels: tuple[int, ...]  # label index of each past case
    postings: Mapping[int, tuple[int, ...]]  # feature index → past cases

    @classmethod
    def build(cls, vectors: Sequence[Sequence[tuple[int, float]]],
              labels: Sequence[int]) -> SimilarCases:
        postings: dict[int, list[int]] = defaultdict(list)
        for case, vector in enumerate(vectors):
            for index, _ in vector:
                cases = postings[index]
                if len(cases) < POSTINGS_CAP:
                    cases.append(case)
        # A feature only one past case has makes nobody "similar" to anybody else.
        return cls(tuple(labels), {f: tuple(c) for f, c in postings.items() if len(c) > 1})

    def nearest(self, vector: Sequence[tuple[int, float]]) -> list[int]:
        """Label indexes of the most similar past cases (at most NEIGHBOURS), best first."""
        # A long letter has thousands of features: pick the few without sorting them all.
        strongest = heapq.nlargest(QUERY_FEATURES, vector, key=itemgetter(1))
        scores: dict[int, float] = defaultdict(float)
        looked_up = 0.0
        for index, value in strongest:
            cases = self.postings.get(index)
            if cases:
                looked_up += value
                for case in cases:
                    scores[case] += value
        if not scores:
            return []
        threshold = MIN_SHARE * looked_up
        best = sorted((c for c, s in scores.items() if s >= threshold),
                      key=lambda c: (-scores[c], c))[:NEIGHBOURS]
        return [self.case_labels[c] for c in best]

    def to_dict(self) -> dict[str, Any]:
        return {"case_labels": list(self.case_labels),
                "postings": {str(f): list(c) for f, c in self.postings.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], n_labels: int) -> SimilarCases:
        labels = tuple(int(label) for label in data["case_labels"])
        postings = {int(f): tuple(int(c) for c in cases)
                    for f, cases in dict(data["postings"]).items()}
        if any(not 0 <= label < n_labels for label in labels) or any(
                not 0 <= c < len(labels) for cases in postings.values() for c in cases):
            raise ValueError("similar cases refer to unknown labels or cases")
        return cls(labels, postings)
