"""Reading order of OCR lines: rows, columns read one after the other, a line-number margin
read as its own column, and what must stay rows (labels, phrases set apart by spaces)."""

from __future__ import annotations

from channels.letters.layout import page_text
from channels.letters.ocr import OcrLine

HEIGHT = 30


def box(text: str, left: float, row: int, width: float | None = None) -> OcrLine:
    top = 100 + row * 45
    return OcrLine(text, 0.99, left, top, left + (width or len(text) * 15), top + HEIGHT)


def test_two_columns_are_read_one_after_the_other() -> None:
    lines = [box("A heading across the whole page of the magazine", 100, 0)]
    lines += [box(f"left column line {n}", 100, n + 1, 500) for n in range(7)]
    lines += [box(f"right column line {n}", 640, n + 1, 500) for n in range(6)]
    lines += [box("A footer across the whole page again, below both", 100, 9)]
    text = [line for line in page_text(lines).splitlines() if line]
    assert text == (["A heading across the whole page of the magazine"]
                    + [f"left column line {n}" for n in range(7)]
                    + [f"right column line {n}" for n in range(6)]
                    + ["A footer across the whole page again, below both"])


def test_a_line_number_margin_is_its_own_column() -> None:
    lines = [box(str(n), 60, n, 20) for n in range(1, 7)]
    lines += [box(f"Testimony line {n}", 200, n) for n in range(1, 7)]
    text = [line for line in page_text(lines).splitlines() if line]
    assert text == [str(n) for n in range(1, 7)] + [f"Testimony line {n}" for n in range(1, 7)]


def test_labels_and_spaced_phrases_stay_on_their_rows() -> None:
    # "Q." / "A." before each answer line up in six rows, but a label is not a column; Chinese
    # phrases set apart by wide spaces line up for a few rows (the Heart Sutra scan).
    lines = []
    for n in range(6):
        lines += [box("Q." if n % 2 else "A.", 200, n, 30), box(f"answer number {n}", 300, n)]
    labelled = page_text(lines).splitlines()
    assert labelled == [f"{'Q.' if n % 2 else 'A.'} answer number {n}" for n in range(6)]
    phrases = [box("观自在菩萨", 50, 0, 300), box("行深般若", 400, 0, 250),
               box("皆空", 50, 1, 150), box("度一切苦厄", 400, 1, 300),
               box("异色", 50, 2, 150), box("色即是空", 400, 2, 250)]
    assert page_text(phrases).splitlines() == ["观自在菩萨行深般若", "皆空度一切苦厄",
                                              "异色色即是空"]


def test_a_letter_with_the_senders_block_on_the_right_keeps_its_order() -> None:
    lines = [box(text, 700, n) for n, text in enumerate(
        ["Margaret Thornton", "14 Willow Crescent", "Exampleton", "EX4 7QT"])]
    lines += [box("Dear Sir or Madam,", 100, 5),
              box("There is a large pothole in the road outside my house.", 100, 6)]
    assert page_text(lines).splitlines() == [
        "Margaret Thornton", "14 Willow Crescent", "Exampleton", "EX4 7QT", "",
        "Dear Sir or Madam,", "There is a large pothole in the road outside my house."]
