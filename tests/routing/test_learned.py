"""The learned model on its own and together with the keyword rules."""

from __future__ import annotations

import json

import pytest

from routing import RoutingRules, TextModel, TrainingError, learned, route, train
from routing.features import extract
from routing.learned import ALPHAS, _vector

# Texts the demo keywords do not know, so that only the model can place them.
HISTORY = [
    ("the tarmac has crumbled outside the bakery", "roads/pothole"),
    ("crumbling tarmac near the roundabout", "roads/pothole"),
    ("tarmac crumbled and a cyclist fell", "roads/pothole"),
    ("big crater in the tarmac on Elm Lane", "roads/pothole"),
    ("my landlord the council has not fixed the radiator", "housing/housing-repair"),
    ("radiator in the council flat does not warm up", "housing/housing-repair"),
    ("the radiator leaks in my tenancy flat", "housing/housing-repair"),
    ("radiator broken again, please send a repairer", "housing/housing-repair"),
    ("樱花大道柏油路面碎裂", "roads/pothole"),
    ("柏油路面碎裂很危险", "roads/pothole"),
    ("暖气片不热，请派人维修", "housing/housing-repair"),
    ("暖气片漏了，请派人维修", "housing/housing-repair"),
]


@pytest.fixture(scope="module")
def model() -> TextModel:
    return train(HISTORY * 2)


@pytest.fixture(scope="module")
def with_model(rules: RoutingRules, model: TextModel) -> RoutingRules:
    return rules.with_model(model)


def test_the_model_learns_labels_in_both_languages(model: TextModel) -> None:
    assert model.probabilities("crumbled tarmac by the school")[0][0] == "roads/pothole"
    assert model.probabilities("the radiator is cold")[0][0] == "housing/housing-repair"
    assert model.probabilities("学校门口柏油碎裂")[0][0] == "roads/pothole"
    assert model.probabilities("暖气片坏了")[0][0] == "housing/housing-repair"
    probabilities = [p for _, p in model.probabilities("tarmac")]
    assert sum(probabilities) == pytest.approx(1.0)
    assert model.temperature > 0
    assert model.info["held_out_accuracy"] is not None
    assert model.info["regularisation"] in ALPHAS  # chosen on its own calibration folds


def test_text_the_model_cannot_read_gets_no_prediction(model: TextModel) -> None:
    for text in ("", "   ", "😀😀🙏", "ыыы", "?!?", "////"):  # marks alone say nothing
        assert model.predict(text) is None
        assert model.probabilities(text) == []


def test_a_100_kb_text_is_read_and_answered(model: TextModel) -> None:
    text = "crumbling tarmac " + "blah " * 20_000
    assert len(text) > 100_000
    assert model.probabilities(text)[0][0] == "roads/pothole"


def test_the_model_survives_its_json_form(model: TextModel) -> None:
    data = json.loads(json.dumps(model.to_dict(), ensure_ascii=False))
    again = TextModel.from_dict(data)
    for text in ("tarmac crumbled", "暖气片", "radiator"):
        assert [label for label, _ in again.probabilities(text)] == [
            label for label, _ in model.probabilities(text)]
        assert again.predict(text) is not None
    assert again.info == model.info


@pytest.mark.parametrize("damage", [
    lambda d: d.update(format="something else"),
    lambda d: d.pop("weights"),
    lambda d: d.update(bias=[0.0]),
    lambda d: d.update(temperature=-1),
    lambda d: d["similar"].update(case_labels=[99]),
    lambda d: d.update(repeated={"a text": [[99, 2.0]]}),
    lambda d: d.update(repeated={"a text": [[0, -1.0]]}),
])
def test_a_damaged_model_is_refused(model: TextModel, damage: object) -> None:
    data = json.loads(json.dumps(model.to_dict()))
    damage(data)  # type: ignore[operator]
    with pytest.raises(ValueError, match="model"):
        TextModel.from_dict(data)


@pytest.mark.parametrize("examples, message", [
    ([], "no examples"),
    ([(f"pothole {i}", "roads") for i in range(20)], "same label"),
    ([("😀", "roads"), ("🙏", "waste")] * 10, "readable text"),
    ([("a pothole", "roads"), ("a bin", "waste")] * 3, "at least 10"),
    ([("a pothole", "roads/pothole/extra")], "bad label"),
    ([("a pothole", "")], "bad label"),
    ([("a pothole", "roads", -1.0)], "weight"),
    ([("a pothole",)], "expected"),
])
def test_bad_training_data_is_a_clear_error(examples: list[tuple[str, ...]],
                                            message: str) -> None:
    with pytest.raises(TrainingError, match=message):
        train(examples)  # type: ignore[arg-type]


def test_the_model_places_text_no_keyword_matches(rules: RoutingRules,
                                                  with_model: RoutingRules) -> None:
    text = "the tarmac has crumbled by the church"
    assert route(text, rules).department == "triage"
    decision = route(text, with_model)
    assert (decision.department, decision.service) == ("roads", "pothole")
    assert decision.confidence >= with_model.min_confidence
    assert any(r.startswith("model: ") and r.endswith("for roads/pothole")
               for r in decision.reasons)
    assert any("similar past cases went to roads" in r for r in decision.reasons)
    assert decision.suggestions[0][:2] == ("roads", "pothole")


def test_rules_and_model_agreeing_are_surer_than_the_rules_alone(
        rules: RoutingRules, with_model: RoutingRules) -> None:
    text = "pothole and crumbling tarmac on Elm Lane"
    alone, together = route(text, rules), route(text, with_model)
    assert together.department == alone.department == "roads"
    assert together.confidence > alone.confidence


def test_when_rules_and_model_disagree_the_surer_one_wins_with_less_confidence(
        rules: RoutingRules, with_model: RoutingRules) -> None:
    text = "crumbling tarmac, the rent"
    by_rules, decision = route(text, rules), route(text, with_model)
    assert by_rules.service == "rent"
    assert (decision.department, decision.service) == ("roads", "pothole")
    assert "rules and model disagree: the model's roads is surer" in decision.reasons
    model_probability = float(next(r for r in decision.reasons
                                   if r.startswith("model: ")).split()[1])
    assert decision.confidence < model_probability


def test_explicit_choices_still_win_over_the_model(with_model: RoutingRules) -> None:
    decision = route("crumbling tarmac", with_model, explicit_service="rent")
    assert (decision.department, decision.service, decision.confidence) == (
        "housing", "rent", 1.0)


def test_labels_the_configuration_no_longer_has_are_ignored(rules: RoutingRules) -> None:
    model = train([(f"tarmac crumbled {i}", "roads/pothole") for i in range(6)]
                  + [(f"gone tarmac {i}", "closed-dept") for i in range(6)])
    decision = route("gone tarmac", rules.with_model(model))
    assert all(d != "closed-dept" for d, _, _ in decision.suggestions)


def test_with_model_leaves_the_original_rules_alone(rules: RoutingRules,
                                                    model: TextModel) -> None:
    updated = rules.with_model(model)
    assert rules.model is None and updated.model is model
    assert "model=yes" in repr(updated)


def test_a_text_sent_again_and_again_follows_its_past_labels() -> None:
    # A web form's fixed title, dispatched 6 times to roads and 4 times to parking: its past
    # votes say how sure to be (the words alone make the model far surer of roads).
    history = [("Sign Repair", "roads")] * 6 + [("Sign Repair", "parking")] * 4
    history += [(f"sign repair at bay {n}", "parking") for n in range(15)]
    history += [(f"pothole number {n}", "roads") for n in range(12)]
    model = train(history)
    ranked = model.probabilities("  sign   REPAIR ")  # case and spacing do not matter
    # The 10 past votes, with the model's own probabilities counting as one more vote.
    probability = dict(ranked)
    assert 6 / 11 <= probability["roads"] <= 7 / 11
    assert 4 / 11 <= probability["parking"] <= 5 / 11
    assert model.probabilities("sign repair at bay 99")[0][0] == "parking"  # another text
    again = TextModel.from_dict(json.loads(json.dumps(model.to_dict())))
    restored = again.probabilities("Sign Repair")
    assert [label for label, _ in restored] == [label for label, _ in ranked]
    assert [p for _, p in restored] == pytest.approx([p for _, p in ranked], abs=1e-3)


def test_a_text_given_several_labels_once_each_is_not_remembered() -> None:
    history = [("Graffiti Removal", "roads"), ("Graffiti Removal", "parks")]
    history += [(f"pothole number {n}", "roads") for n in range(12)]
    history += [(f"park bench {n} broken", "parks") for n in range(12)]
    model = train(history)
    assert "graffiti removal" not in model.repeated  # one vote each: nothing to go by
    assert "graffiti removal" in train(history + [("Graffiti Removal", "parks")]).repeated


def test_a_heading_before_a_colon_tells_what_a_text_is_about() -> None:
    # A web form's "Fire: …" titles go to the fire service, while gas and hydrants are water's:
    # the heading outweighs the words after it.
    history = [(f"Fire: {what}", "fire")
               for what in ("hazmat", "jumper", "other", "smoke alarm", "car alight")]
    history += [(f"fire hydrant {what}", "water")
                for what in ("leaking", "open", "knocked over", "broken cap", "spraying")]
    history += [(f"{what} gas leak", "water") for what in ("strong smell", "smell of", "suspected")]
    history += [(f"pothole number {n}", "roads") for n in range(8)]
    model = train(history)
    assert model.probabilities("Fire: gas smell in hallway")[0][0] == "fire"
    assert model.probabilities("gas smell in hallway")[0][0] == "water"


def test_a_correction_weighs_more_than_a_plain_example() -> None:
    # The same text once dispatched to parks and once corrected to roads (weight 3, as the
    # case board gives corrections): a similar new text follows the correction.
    history = [("loose paving slab by the bakery", "roads", 3.0),
               ("loose paving slab by the bakery", "parks", 1.0)]
    history += [(f"pothole number {n}", "roads", 1.0) for n in range(8)]
    history += [(f"park bench {n} broken", "parks", 1.0) for n in range(8)]
    assert train(history).probabilities("a loose paving slab")[0][0] == "roads"


def test_a_variant_of_a_title_follows_the_label_the_title_mostly_had(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Boston's "Sidewalk Repair": over a hundred times to public works, now and then to
    # other departments. A variant the history never had follows the majority.
    title = "Sidewalk Repair (Make Safe)"
    history = [(title, "roads")] * 100
    history += [(title, other) for other in ("triage", "water", "licensing", "parks")]
    history += [(f"pothole number {n}", "roads") for n in range(8)]
    history += [(f"water main burst on street {n}", "water") for n in range(8)]
    history += [(f"licence for stall {n}", "licensing") for n in range(8)]
    history += [(f"park bench {n} broken", "parks") for n in range(8)]
    history += [(f"general question {n}", "triage") for n in range(8)]
    assert train(history).probabilities("SIDEWALK MAKE SAFE")[0][0] == "roads"
    # With one equal lesson per (text, label), the variant's words point everywhere at once.
    monkeypatch.setattr(learned, "FREQUENCY_POWER", 0.0)
    assert train(history).probabilities("SIDEWALK MAKE SAFE")[0][0] != "roads"


@pytest.mark.parametrize("text", ["the tarmac crumbled tarmac tarmac", "暖气片漏了漏了",
                                  "radiator", "nothing known here", ""])
def test_a_decision_weighs_a_text_as_training_did(model: TextModel, text: str) -> None:
    """predict() builds its TF-IDF vector in numpy, training in plain Python: the two must
    agree, or a text would be judged on other values than the model learned from."""
    indexes, values = model._array_vector(extract(text))
    expected = _vector(extract(text), model.vocabulary, model.idf)
    assert indexes.tolist() == [i for i, _ in expected]
    assert values.tolist() == pytest.approx([v for _, v in expected])
