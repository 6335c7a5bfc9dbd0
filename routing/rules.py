"""The router: RoutingRules (built once from the configuration) and route() (pure, fast)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from routing import priority
from routing.analyser import Analyser
from routing.decision import RoutingDecision, Suggestion
from routing.matcher import KeywordIndex
from routing.model import EXACT, NEAR, Analysed, Hit
from routing.scoring import Candidate, confidence, rank, strength
from routing.spelling import Speller
from settings import Config, ServiceConfig

MAX_SUGGESTIONS = 3
MAX_HIT_REASONS = 3
RIVAL_WORTH_MENTIONING = 0.2  # strength of a runner-up named in the reasons


@dataclass(frozen=True, eq=False)
class RoutingRules:
    """Everything route() needs, precomputed; immutable and safe to share between threads."""

    services: tuple[ServiceConfig, ...]
    service_index: Mapping[str, int]  # service code → index into services
    departments: tuple[str, ...]
    keywords: KeywordIndex  # owners: service indexes
    negatives: KeywordIndex  # owners: service indexes
    priority_words: KeywordIndex  # owners: ranks in settings.PRIORITIES
    analyser: Analyser
    min_confidence: float
    triage_department: str
    triage_service: str | None  # the triage department's first service, if any

    @classmethod
    def from_config(cls, config: Config) -> RoutingRules:
        services = tuple(s for d in config.departments for s in d.services)
        keywords = KeywordIndex(
            (i, lang, phrase)
            for i, service in enumerate(services)
            for lang, phrases in service.keywords.items()
            for phrase in phrases
        )
        negatives = KeywordIndex(
            (i, "", phrase) for i, service in enumerate(services) for phrase in service.negative
        )
        priority_words = priority.priority_index(config.priority_words)
        triage = config["routing.triage_department"]
        triage_services = next((d.services for d in config.departments if d.id == triage), ())
        return cls(
            services=services,
            service_index={s.code: i for i, s in enumerate(services)},
            departments=tuple(d.id for d in config.departments),
            keywords=keywords,
            negatives=negatives,
            priority_words=priority_words,
            analyser=Analyser(
                Speller(keywords.vocabulary | negatives.vocabulary | priority_words.vocabulary),
                keywords.gram_heads | negatives.gram_heads | priority_words.gram_heads),
            min_confidence=float(config["routing.min_confidence"]),
            triage_department=triage,
            triage_service=triage_services[0].code if triage_services else None,
        )

    def __repr__(self) -> str:
        return (f"RoutingRules({len(self.departments)} departments, {len(self.services)} "
                f"services, {len(self.keywords.keywords)} keywords, "
                f"min_confidence={self.min_confidence})")

    def label(self, service: int) -> str:
        s = self.services[service]
        return f"{s.department}/{s.code}"


def route(text: str, rules: RoutingRules, explicit_department: str | None = None,
          explicit_service: str | None = None, language: str | None = None) -> RoutingDecision:
    """Decide department, service and priority for a contact's text.

    An explicit service (a known code) wins outright; an explicit department fixes the
    department and lets the text pick a service in it. Unknown explicit values raise
    ValueError naming the value.
    """
    forced_service = _check_explicit(rules, explicit_department, explicit_service)
    analysed = rules.analyser(text or "")
    candidates = _candidates(analysed, rules, language)
    if forced_service is not None:
        department, service, conf, reasons = _explicit_service(rules, forced_service)
    elif explicit_department is not None:
        department, service, conf, reasons = _explicit_department(
            rules, explicit_department, candidates)
    elif analysed.empty:
        department, service, conf = rules.triage_department, rules.triage_service, 0.0
        reasons = ("empty text: sent to triage",)
    else:
        department, service, conf, reasons = _automatic(rules, candidates)
    base = rules.services[rules.service_index[service]].priority if service else None
    level, priority_reasons = priority.decide(analysed, rules.priority_words, base, language)
    return RoutingDecision(department, service, conf, level, reasons + priority_reasons,
                           _suggestions(rules, candidates))


Outcome = tuple[str, str | None, float, tuple[str, ...]]  # department, service, conf, reasons


def _check_explicit(rules: RoutingRules, department: str | None,
                    service: str | None) -> int | None:
    if department is not None and department not in rules.departments:
        raise ValueError(f"unknown department {department!r}")
    if service is None:
        return None
    index = rules.service_index.get(service)
    if index is None:
        raise ValueError(f"unknown service {service!r}")
    if department is not None and rules.services[index].department != department:
        raise ValueError(f"service {service!r} is not in department {department!r}")
    return index


def _candidates(text: Analysed, rules: RoutingRules, language: str | None) -> list[Candidate]:
    if text.empty:
        return []
    hits = rules.keywords.find(text, language=language)
    negatives = rules.negatives.find(text, exact_only=True) if hits else []
    return rank(hits, negatives)


def _explicit_service(rules: RoutingRules, index: int) -> Outcome:
    service = rules.services[index]
    return (service.department, service.code, 1.0,
            (f"explicit service {service.code!r} ({rules.label(index)})",))


def _explicit_department(rules: RoutingRules, department: str,
                         candidates: list[Candidate]) -> Outcome:
    reasons = [f"explicit department {department!r}"]
    inside = [c for c in candidates if rules.services[c.service].department == department]
    if inside and strength(inside[0].score) >= rules.min_confidence:
        best = inside[0]
        reasons += _hit_reasons(rules, best)
        return department, rules.services[best.service].code, 1.0, tuple(reasons)
    reasons.append(f"no service of {department!r} matched the text")
    return department, None, 1.0, tuple(reasons)


def _automatic(rules: RoutingRules, candidates: list[Candidate]) -> Outcome:
    if not candidates:
        return (rules.triage_department, rules.triage_service, 0.0,
                ("no keyword matched: sent to triage",))
    best = candidates[0]
    department = rules.services[best.service].department
    rival = next((c for c in candidates[1:]
                  if rules.services[c.service].department != department), None)
    conf = confidence(best.score, rival.score if rival else 0.0)
    reasons = _hit_reasons(rules, best)
    if rival is not None and strength(rival.score) >= RIVAL_WORTH_MENTIONING:
        reasons.append(f"runner-up {rules.label(rival.service)} "
                       f"({strength(rival.score):.2f})")
    if conf < rules.min_confidence:
        reasons.append(f"low confidence {conf:.2f} < {rules.min_confidence:.2f}: "
                       "sent to triage")
        return rules.triage_department, None, conf, tuple(reasons)
    return department, rules.services[best.service].code, conf, tuple(reasons)


def _hit_reasons(rules: RoutingRules, candidate: Candidate) -> list[str]:
    target = rules.label(candidate.service)
    reasons = [_describe(hit, target) for hit in candidate.hits[:MAX_HIT_REASONS]]
    if candidate.vetoed_by is not None:
        reasons.append(f"'{candidate.vetoed_by}' counts against {target}")
    return reasons


def _describe(hit: Hit, target: str) -> str:
    phrase = hit.keyword.phrase
    if hit.kind == EXACT:
        return f"matched '{phrase}' ({hit.similarity}) → {target}"
    if hit.kind == NEAR:
        return f"matched the words of '{phrase}' ({hit.similarity}) → {target}"
    return f"partly matched '{phrase}' ({hit.similarity}) → {target}"


def _suggestions(rules: RoutingRules, candidates: list[Candidate]) -> tuple[Suggestion, ...]:
    return tuple(
        (rules.services[c.service].department, rules.services[c.service].code,
         round(strength(c.score), 3))
        for c in candidates[:MAX_SUGGESTIONS]
    )
