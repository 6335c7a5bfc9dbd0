"""Finding the reference, sender, postcode, date and contact details in a letter's text."""

from __future__ import annotations

import datetime as dt

from channels.letters.understand import LetterFacts, understand

OWN = "Town Hall, 1 High Street, Example EX1 1AA contact@city.example"


def facts(text: str) -> LetterFacts:
    return understand(text, prefix="CC", region="GB", own_address=OWN,
                      administration="City of Example")


def test_english_letter_sender_block_not_our_address() -> None:
    text = ("City of Example Council\nTown Hall\n1 High Street\nExample EX1 1AA\n\n"
            "Mr John Smith\n22 Acacia Avenue\nExampleton\nEX4 3PQ\n\n4th November 2026\n\n"
            "Dear Sir,\n\nRe: cc 2026 000042 bins not collected\n\nThe bins... "
            "Call me on 07700 900123 or j.smith@example.org.\n\nYours sincerely,\nJohn Smith")
    found = facts(text)
    assert found.references == ("CC-2026-000042",)
    assert found.name == "Mr John Smith"
    assert found.address == "22 Acacia Avenue, Exampleton, EX4 3PQ"
    assert found.postcode == "EX4 3PQ"
    assert found.letter_date == dt.date(2026, 11, 4)
    assert found.phones == ("+447700900123",)
    assert found.emails == ("j.smith@example.org",)
    assert found.subject == "cc 2026 000042 bins not collected"
    assert found.language == "en"


def test_name_from_the_signature_when_the_block_has_none() -> None:
    found = facts("5 Mill Lane\nExampleton EX5 1AB\n\nDear Sir,\nNoise at night.\n\n"
                  "Yours faithfully,\nAnna Kowalska")
    assert (found.name, found.postcode) == ("Anna Kowalska", "EX5 1AB")
    assert found.address == "5 Mill Lane, Exampleton EX5 1AB"


def test_spaces_ocr_dropped_in_the_name_and_address_are_put_back() -> None:
    found = facts("MargaretThornton\n14Willow Crescent\nFlat 3B, 221Baker Street\n"
                  "Exampleton\nEX4 7QT\n\nDear Sir,\nA pothole.")
    assert found.name == "Margaret Thornton"
    assert found.address == "14 Willow Crescent, Flat 3B, 221 Baker Street, Exampleton, EX4 7QT"


def test_chinese_letter_labelled_fields() -> None:
    found = facts("寄信人：李明\n地址：示例市东风路12号\n邮编：100020\n电话：13912345678\n\n"
                  "关于编号CC-2026-000007的问题\n路灯坏了。\n2026年11月30日")
    assert (found.name, found.address, found.postcode) == ("李明", "示例市东风路12号", "100020")
    assert found.references == ("CC-2026-000007",)
    assert found.phones == ("+8613912345678",)
    assert found.letter_date == dt.date(2026, 11, 30)
    assert found.language == "zh"


def test_a_letter_without_sender_details_finds_nothing_wrong() -> None:
    found = facts("To whom it may concern, the park is lovely.")
    assert (found.name, found.address, found.postcode, found.references) == ("", "", "", ())
