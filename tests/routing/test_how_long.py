"""How long a problem has lasted says nothing about what it is.

"...that has been there for weeks" used to be an abandoned-vehicle keyword worth more than
"pothole", so a pothole reported with it went to parking. Only a vehicle that has been
there (or left) for weeks is evidence of an abandoned vehicle.
"""

from __future__ import annotations

import pytest

from routing import RoutingRules, route

CASES = [
    ("There is a pothole on Mill Road that has been there for weeks", "roads", "pothole"),
    ("There is a big pothole outside the school, been there for weeks now", "roads", "pothole"),
    ("There is a pothole on the High Street that was left for weeks", "roads", "pothole"),
    ("There is a broken street light on Elm Grove that has been there for weeks",
     "roads", "street-light"),
    ("The broken street light on Elm Grove has not been fixed, it has been left for weeks",
     "roads", "street-light"),
    ("Someone dumped a mattress in the alley behind the shops and it has been there for weeks",
     "waste", "fly-tipping"),
    ("Bags of rubbish have been left for weeks in the alley behind the shops",
     "waste", "fly-tipping"),
    # A vehicle that stays is still an abandoned vehicle.
    ("a car has been there for weeks", "parking", "abandoned-vehicle"),
    ("A white van has been there for weeks on our street and never moves",
     "parking", "abandoned-vehicle"),
    ("silver car left for weeks outside number 9", "parking", "abandoned-vehicle"),
    ("someone's car has been left there for weeks", "parking", "abandoned-vehicle"),
    ("There's a car outside my house that hasn't moved in months",
     "parking", "abandoned-vehicle"),
]


@pytest.mark.parametrize("text, department, service", CASES)
def test_a_duration_does_not_decide_the_service(rules: RoutingRules, text: str,
                                                department: str, service: str) -> None:
    decision = route(text, rules)
    assert (decision.department, decision.service) == (department, service), decision.reasons
    assert decision.confidence >= rules.min_confidence
