"""The router: RoutingRules (built once from the configuration) and route() (pure, fast)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from routing import blend, districts, priority
from routing.analyser import Analyser
from routing.decision import RoutingDecision, Suggestion
from routing.learned import TextModel
from routing.limits import effective_limits
from routing.matcher import KeywordIndex
from routing.model import EXACT, NEAR, Analysed, Hit
from routing.scoring import Candidate, confidence, rank, strength
from routing.spelling import Speller
from settings import Config, DistrictRule, ServiceConfig

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
    priority_combinations: tuple[priority.Combination, ...] = ()
    districts: tuple[DistrictRule, ...] = ()
    services_of: Mapping[str, frozenset[str]] = dataclasses.field(default_factory=dict)
    model: TextModel | None = None  # learned from past cases; None: keyword rules only
    # priority → {"first_response", "resolution"} working hours (config [time_limits])
    time_limits: Mapping[str, Mapping[str, float]] = dataclasses.field(default_factory=dict)

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
        priority_words, combinations = priority.priority_index(config.priority_words)
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
            priority_combinations=combinations,
            districts=config.district_rules,
            services_of={d.id: frozenset(s.code for s in d.services)
                         for d in config.departments},
            time_limits=config.time_limits,
        )

    def with_model(self, model: TextModel | None) -> RoutingRules:
        """The same rules with another learned model (None: rules only); self is unchanged."""
        return dataclasses.replace(self, model=model)

    def __repr__(self) -> str:
        return (f"RoutingRules({len(self.departments)} departments, {len(self.services)} "
                f"services, {len(self.keywords.keywords)} keywords, "
                f"min_confidence={self.min_confidence}, "
                f"model={'yes' if self.model is not None else 'no'})")

    def label(self, service: int) -> str:
        s = self.services[service]
        return f"{s.department}/{s.code}"


def route(text: str, rules: RoutingRules, explicit_department: str | None = None,
          explicit_service: str | None = None, language: str | None = None,
          postcode: str | None = None) -> RoutingDecision:
    """Decide department, service and priority for a contact's text.

    An explicit service (a known code) wins outright; an explicit department fixes the
    department and lets the text pick a service in it; otherwise the keyword rules and the
    learned model (when the rules carry one) decide together. A district rule for the
    citizen's `postcode` then names the district office. Unknown explicit values raise
    ValueError naming the value.
    """
    forced_service = _check_explicit(rules, explicit_department, explicit_service)
    text = text or ""
    analysed = rules.analyser(text)
    candidates = _candidates(analysed, rules, language)
    suggestions = _suggestions(rules, candidates)
    if forced_service is not None:
        department, service, conf, reasons = _explicit_service(rules, forced_service)
    elif explicit_department is not None:
        department, service, conf, reasons = _explicit_department(
            rules, explicit_department, candidates)
    elif analysed.empty:
        department, service, conf = rules.triage_department, rules.triage_service, 0.0
        reasons = ("empty text: sent to triage",)
    else:
        model = _model_view(rules, text)
        department, service, conf, reasons = _automatic(rules, candidates, model)
        if model is not None:
            suggestions = blend.suggestions(suggestions, model, MAX_SUGGESTIONS)
    if explicit_department is None and department != rules.triage_department:
        department, service, reasons = _district(rules, postcode, department, service, reasons)
    base = rules.services[rules.service_index[service]].priority if service else None
    level, priority_reasons = priority.decide(analysed, rules.priority_words,
                                              rules.priority_combinations, base, language)
    return RoutingDecision(department, service, conf, level, reasons + priority_reasons,
                           suggestions, _limits(rules, level, service))


def _limits(rules: RoutingRules, level: str, service: str | None) -> dict[str, float]:
    """The hours this decision allows; the case board turns them into due dates."""
    if level not in rules.time_limits:
        return {}
    overrides = rules.services[rules.service_index[service]].time_limits if service else {}
    return effective_limits(rules.time_limits[level], overrides, level)


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


def _automatic(rules: RoutingRules, candidates: list[Candidate],
               model: blend.ModelView | None) -> Outcome:
    department, service, conf, reasons = _by_rules(rules, candidates)
    if model is not None:
        department, service, conf = _with_model(department, service, conf, model, reasons)
    if department is None:
        return (rules.triage_department, rules.triage_service, 0.0,
                ("no keyword matched: sent to triage",))
    if conf < rules.min_confidence:
        reasons.append(f"low confidence {conf:.2f} < {rules.min_confidence:.2f}: "
                       "sent to triage")
        return rules.triage_department, None, conf, tuple(reasons)
    return department, service, conf, tuple(reasons)


def _by_rules(rules: RoutingRules, candidates: list[Candidate]
              ) -> tuple[str | None, str | None, float, list[str]]:
    """The keyword rules' choice, before the triage threshold (None: no keyword matched)."""
    if not candidates:
        return None, None, 0.0, []
    best = candidates[0]
    department = rules.services[best.service].department
    rival = next((c for c in candidates[1:]
                  if rules.services[c.service].department != department), None)
    conf = confidence(best.score, rival.score if rival else 0.0)
    reasons = _hit_reasons(rules, best)
    if rival is not None and strength(rival.score) >= RIVAL_WORTH_MENTIONING:
        reasons.append(f"runner-up {rules.label(rival.service)} "
                       f"({strength(rival.score):.2f})")
    return department, rules.services[best.service].code, conf, reasons


def _with_model(department: str | None, service: str | None, conf: float,
                model: blend.ModelView, reasons: list[str]
                ) -> tuple[str | None, str | None, float]:
    """Rules and model together; appends the model's reasons."""
    top, probability = model.departments[0]
    top_service = model.best_service[top][0]
    reasons.append(f"model: {probability:.2f} for {_target(top, top_service)}")
    if department is None:
        department, service, conf = top, top_service, probability
    elif department == top:
        conf = blend.pool(conf, probability, agree=True)
        service = service or top_service
    elif conf >= probability:
        conf = blend.pool(conf, probability, agree=False)
        reasons.append(f"rules and model disagree: the rules' {department} is surer")
    else:
        conf = blend.pool(probability, conf, agree=False)
        reasons.append(f"rules and model disagree: the model's {top} is surer")
        department, service = top, top_service
    similar = blend.similar_reason(model, department)
    if similar:
        reasons.append(similar)
    return department, service, conf


def _model_view(rules: RoutingRules, text: str) -> blend.ModelView | None:
    if rules.model is None:
        return None
    prediction = rules.model.predict(text)
    return blend.view(prediction, rules.services_of) if prediction is not None else None


def _district(rules: RoutingRules, postcode: str | None, department: str,
              service: str | None, reasons: tuple[str, ...]
              ) -> tuple[str, str | None, tuple[str, ...]]:
    found = districts.find(rules.districts, postcode, service)
    if found is None:
        return department, service, reasons
    rule, prefix = found
    if rule.service is not None:
        service = rule.service
        department = rules.services[rules.service_index[service]].department
    if rule.department is not None:
        department = rule.department
        if service not in rules.services_of.get(department, ()):
            service = None
    office = rule.office or department
    return department, service, (*reasons, f"postcode {prefix}: {office} → "
                                           f"{_target(department, service)}")


def _target(department: str, service: str | None) -> str:
    return f"{department}/{service}" if service else department


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
