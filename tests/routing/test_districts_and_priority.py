"""District rules from the configuration, and priority from safety and vulnerability signals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from routing import RoutingRules, route
from settings import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config

DISTRICTS = """
[[routing.district_rules]]
postcode_prefix = ["EX4", "EX5 1"]
only_services = ["pothole", "street-light"]
department = "parks"
office = "North district office"

[[routing.district_rules]]
postcode_prefix = "EX41"
service = "pavement"
office = "Riverside office"

[[routing.district_rules]]
postcode_prefix = "ZZ9"
department = "waste"
"""


def config_with(tmp_path: Path, extra: str) -> Path:
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    # Tables of arrays must come after the plain [routing] keys: append before [[departments]].
    at = text.index("[[departments]]")
    path = tmp_path / "config.toml"
    path.write_text(text[:at] + extra + "\n" + text[at:], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def district_rules(tmp_path_factory: pytest.TempPathFactory) -> RoutingRules:
    path = config_with(tmp_path_factory.mktemp("districts"), DISTRICTS)
    return RoutingRules.from_config(load_config(path, env={}))


def test_a_postcode_rule_sends_its_services_to_the_district_office(
        district_rules: RoutingRules) -> None:
    decision = route("There's a huge pothole on Mill Road", district_rules, postcode="ex4 7aa")
    assert (decision.department, decision.service) == ("parks", None)
    assert decision.reasons[-1] == "postcode EX4: North district office → parks"
    other = route("There's a huge pothole on Mill Road", district_rules, postcode="EX5 1QT")
    assert other.department == "parks"


def test_the_longest_prefix_wins_and_other_postcodes_are_untouched(
        district_rules: RoutingRules) -> None:
    decision = route("the stret light outside number 4 is out", district_rules,
                     postcode="EX41 2BB")
    assert (decision.department, decision.service) == ("roads", "pavement")
    assert "postcode EX41: Riverside office → roads/pavement" in decision.reasons
    assert route("There's a huge pothole", district_rules, postcode="EX6 1AA").department == \
        "roads"
    assert route("There's a huge pothole", district_rules).department == "roads"


def test_services_outside_a_rule_and_explicit_departments_are_not_redirected(
        district_rules: RoutingRules) -> None:
    assert route("Loud music every night", district_rules, postcode="EX4 7AA").department == \
        "environment"
    explicit = route("There's a huge pothole", district_rules, explicit_department="roads",
                     postcode="EX4 7AA")
    assert explicit.department == "roads"
    # Cases for triage stay in triage: nobody knows yet which office is right.
    assert route("hello?", district_rules, postcode="ZZ9 1AA").department == "triage"


@pytest.mark.parametrize("rule, key", [
    ('postcode_prefix = ""\ndepartment = "roads"', "postcode_prefix"),
    ('postcode_prefix = "EX4"', "routing.district_rules[0]"),
    ('postcode_prefix = "EX4"\ndepartment = "nowhere"', "department"),
    ('postcode_prefix = "EX4"\nservice = "no-such"', "service"),
    ('postcode_prefix = "EX4"\ndepartment = "waste"\nservice = "pothole"', "service"),
    ('postcode_prefix = "EX4"\ndepartment = "roads"\nonly_services = "pothole"',
     "only_services"),
])
def test_a_wrong_district_rule_stops_start_up_naming_the_key(tmp_path: Path, rule: str,
                                                            key: str) -> None:
    path = config_with(tmp_path, f"[[routing.district_rules]]\n{rule}\n")
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_config(path, env={})


@pytest.mark.parametrize("text, priority", [
    ("The heating has stopped, no heating since Monday", "high"),
    ("no heating since Monday and my elderly mother lives with me", "urgent"),
    ("No heating, we have a new baby", "urgent"),
    ("my elderly neighbour needs help with shopping", "high"),
    ("家里没有暖气三天了", "high"),
    ("家里没有暖气，家里有八十岁的老人", "urgent"),
    ("exposed wires hanging from the lamp post", "urgent"),
    ("电线裸露在外面，小孩经常经过", "urgent"),
    ("I think a child at risk lives next door", "urgent"),
    ("burst main flooding the road", "urgent"),
    ("小区爆管了，到处是水", "urgent"),
    ("路面积水，水浸到一楼", "urgent"),
    ("there is a smell of gas on the stairs", "urgent"),
])
def test_safety_and_vulnerability_raise_priority_in_both_languages(
        rules: RoutingRules, text: str, priority: str) -> None:
    assert route(text, rules).priority == priority


def test_a_combination_is_named_in_the_reasons(rules: RoutingRules) -> None:
    decision = route("no heating and my elderly dad is freezing", rules)
    assert "priority urgent: 'no heating + elderly'" in decision.reasons


def test_a_raised_priority_shortens_the_time_limits_the_decision_carries(
        rules: RoutingRules) -> None:
    everyday = route("There is a pothole on Mill Road", rules)
    danger = route("exposed wires hanging from the lamp post", rules)
    assert everyday.time_limits == {"first_response": 8.0, "resolution": 80.0}
    assert danger.time_limits == {"first_response": 1.0, "resolution": 8.0}
    assert danger.as_dict()["time_limits"] == {"first_response_hours": 1.0,
                                               "resolution_hours": 8.0}


def test_a_service_may_shorten_its_limits_but_never_lengthen_an_urgent_case(
        config: Config) -> None:
    pothole = next(s for d in config.departments for s in d.services if s.code == "pothole")
    quick = dataclasses.replace(pothole, time_limits={"first_response": 2.0,
                                                      "resolution": 400.0})
    departments = tuple(dataclasses.replace(d, services=tuple(
        quick if s.code == "pothole" else s for s in d.services)) for d in config.departments)
    rules = RoutingRules.from_config(dataclasses.replace(config, departments=departments))
    assert route("There is a pothole on Mill Road", rules).time_limits == {
        "first_response": 2.0, "resolution": 400.0}
    urgent = route("A huge pothole on Mill Road, a child fell in, exposed wires too", rules)
    assert urgent.priority == "urgent" and urgent.service == "pothole"
    assert urgent.time_limits == {"first_response": 1.0, "resolution": 8.0}
