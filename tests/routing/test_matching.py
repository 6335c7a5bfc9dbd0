"""The pieces under the router: text normalisation, spelling repair, Chinese matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing import RoutingRules, route
from routing.spelling import SINGULAR_SCORE, Speller
from routing.text import cjk_stream, normalise, words
from tests.routing import test_real_data


@pytest.fixture(scope="module")
def speller(rules: RoutingRules) -> Speller:
    return rules.analyser.speller


@pytest.mark.parametrize("text, expected", [
    ("There's a POTHOLE!", ["theres", "a", "pothole"]),
    ("wasn\u2019t colected", ["wasnt", "colected"]),
    ("ＰＯＴＨＯＬＥ on Ｍｉｌｌ Rd", ["pothole", "on", "mill", "rd"]),
    ("café crème", ["cafe", "creme"]),
    ("路灯 不亮 at no. 4", ["at", "no", "4"]),
])
def test_words_are_folded_to_plain_ascii(text: str, expected: list[str]) -> None:
    assert words(normalise(text)) == expected


def test_the_cjk_stream_drops_spaces_and_punctuation_but_not_word_boundaries() -> None:
    assert cjk_stream(normalise("路灯 不亮，（好几天了）")) == "路灯不亮好几天了"
    assert cjk_stream(normalise("路灯ABC不亮")) == "路灯 不亮"
    assert cjk_stream(normalise("no chinese here")) == ""


@pytest.mark.parametrize("word, expected", [
    ("stret", "street"),  # a missing letter
    ("colected", "collected"),
    ("rubish", "rubbish"),
    ("potohle", "pothole"),  # a transposition
    ("ligt", "light"),
    ("p0thole", "pothole"),  # OCR: digit for letter
    ("b1n", "bin"),
    ("rnissed", "missed"),  # OCR: "rn" for "m"
    ("mattresses", "mattress"),  # plural
    ("streetlights", "streetlight"),
])
def test_typos_speech_and_ocr_errors_are_repaired(speller: Speller, word: str,
                                                 expected: str) -> None:
    correction = speller.correct(word)
    assert correction is not None and correction[0] == expected


@pytest.mark.parametrize("word", [
    "three",  # ↛ tree: a real word with an extra letter
    "spark",  # ↛ park
    "file",  # ↛ fire: a different letter in a short word
    "marking",  # ↛ parking: a different first letter
    "office",  # ↛ ice
    "fireworks",  # ↛ fire
    "want",  # ↛ wasnt: "we want to build a conservatory"
    "back",  # ↛ black: "the back garden"
    "side",  # ↛ slide
    "constant",  # ↛ contact: two edits, a loose match
    "starting",  # ↛ sparking: "a sinkhole starting to open up" is not an electrical danger
    "morning",  # ↛ moving
    "planting",  # ↛ planning
    "hi",
])
def test_real_words_are_not_corrected_into_keywords(speller: Speller, word: str) -> None:
    assert speller.correct(word) is None


def test_known_words_need_no_repair_and_plurals_score_just_below_exact(
        speller: Speller) -> None:
    assert speller.correct("pothole") is None
    assert speller.correct("potholes") == ("pothole", SINGULAR_SCORE)
    assert speller.correct("bins") == ("bin", SINGULAR_SCORE)  # both are keyword words


def test_split_and_joined_words_match_either_way(rules: RoutingRules) -> None:
    assert route("a pot hole", rules).service == "pothole"  # speech splits a word
    assert route("the streetlight is broken", rules).service == "street-light"
    assert route("the street light is broken", rules).service == "street-light"


def test_chinese_tolerates_an_inserted_character_not_a_wrong_one(rules: RoutingRules) -> None:
    inserted = route("垃圾没人收", rules)
    assert inserted.service == "missed-collection"
    assert "(90)" in inserted.reasons[0]
    # 过期药品 (expired medicine) is not 过期食品 (expired food).
    assert route("药店卖过期药品", rules).service != "food-hygiene"
    assert route("超市卖过期食品", rules).service == "food-hygiene"


def test_chinese_keyword_words_in_another_order_still_match(rules: RoutingRules) -> None:
    decision = route("有人在河边乱倒建筑垃圾", rules)
    assert decision.service == "fly-tipping"
    assert decision.reasons[0].startswith("matched the words of ")


def test_a_repeated_keyword_outweighs_a_passing_mention(rules: RoutingRules) -> None:
    text = "小区噪音扰民。施工单位说有规划许可，但是噪音从早到晚，噪音太大了"
    assert route(text, rules).service == "noise"


def test_missing_data_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    missing = tmp_path / "nothing.csv"
    monkeypatch.setattr(test_real_data, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception):
        test_real_data.read_rows(missing)
    monkeypatch.setattr(test_real_data, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception):
        test_real_data.read_rows(missing)
