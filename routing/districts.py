"""District rules: contacts from a postcode area go to a district office
(`[[routing.district_rules]]` in the configuration)."""

from __future__ import annotations

from collections.abc import Sequence

from settings import DistrictRule


def normalise_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def find(rules: Sequence[DistrictRule], postcode: str | None,
         service: str | None) -> tuple[DistrictRule, str] | None:
    """The rule for this postcode and service with the longest matching prefix (the first
    configured on a tie), and that prefix; None if no rule applies."""
    code = normalise_postcode(postcode or "")
    if not code:
        return None
    best: tuple[DistrictRule, str] | None = None
    for rule in rules:
        if rule.only_services and service not in rule.only_services:
            continue
        for prefix in rule.postcode_prefixes:
            if code.startswith(prefix) and (best is None or len(prefix) > len(best[1])):
                best = (rule, prefix)
    return best
