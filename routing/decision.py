"""The router's answer: where a contact goes, how sure we are, and why."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Suggestion = tuple[str, str | None, float]  # (department, service, score 0..1)


@dataclass(frozen=True)
class RoutingDecision:
    department: str
    service: str | None
    confidence: float  # 0..1
    priority: str  # one of settings.PRIORITIES
    reasons: tuple[str, ...] = ()
    suggestions: tuple[Suggestion, ...] = ()  # top three candidates, best first
    # Working hours allowed for the first response and the resolution ({} when not known).
    time_limits: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (the CLI's `route --json`, the API, the audit trail)."""
        return {
            "department": self.department,
            "service": self.service,
            "confidence": round(self.confidence, 3),
            "priority": self.priority,
            "reasons": list(self.reasons),
            "suggestions": [
                {"department": d, "service": s, "score": round(score, 3)}
                for d, s, score in self.suggestions
            ],
            "time_limits": {f"{name}_hours": hours for name, hours in self.time_limits.items()},
        }
