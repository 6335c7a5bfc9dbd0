"""The reply letter as an A4 PDF: letterhead, the address where a window envelope shows it,
date, reference, the answer (with every key fact, as the knowledge base rendered it) and our
contact details. Chinese letters use a CJK TrueType font that a system package provides.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # Debian fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Debian fonts-wqy-zenhei
)
# A DL window envelope (window on the left): 20 mm from the left, 50 mm from the top.
WINDOW_LEFT, WINDOW_TOP, WINDOW_WIDTH = 20.0, 50.0, 90.0


class NoCjkFont(RuntimeError):
    pass


@dataclass(frozen=True)
class Letterhead:
    administration: str
    return_address: tuple[str, ...]
    phone: str
    email: str


@dataclass(frozen=True)
class LetterContent:
    reference: str
    recipient_name: str
    recipient_address: tuple[str, ...]
    body: str
    language: str
    date: dt.date


def find_cjk_font(configured: str = "") -> Path:
    for candidate in ((configured,) if configured else CJK_FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise NoCjkFont("no CJK font for Chinese letters: install fonts-wqy-microhei (Debian) "
                    "or set letters.cjk_font")


def _needs_unicode(*texts: str) -> bool:
    return any(ord(ch) > 255 for text in texts for ch in text)


def format_date(date: dt.date, language: str) -> str:
    if language == "zh":
        return f"{date.year}年{date.month}月{date.day}日"
    return f"{date.day} {date:%B %Y}"


class _Letter(FPDF):
    def __init__(self, font: str, footer_text: str) -> None:
        super().__init__(format="A4", unit="mm")
        self.body_font = font
        self.footer_text = footer_text
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=25)

    def footer(self) -> None:
        self.set_y(-18)
        self.set_font(self.body_font, size=8)
        self.set_text_color(80)
        self.multi_cell(0, 4, self.footer_text, align="C")
        self.set_text_color(0)


def render_pdf(head: Letterhead, letter: LetterContent, cjk_font: str = "") -> tuple[bytes, int]:
    """The letter's PDF bytes and its page count."""
    labels = _LABELS["zh" if letter.language == "zh" else "en"]
    footer = "   ".join([head.administration, ", ".join(head.return_address),
                         f"{labels['phone']} {head.phone}", f"{labels['email']} {head.email}"])
    texts = (letter.body, letter.recipient_name, *letter.recipient_address, footer)
    font = "helvetica"
    if letter.language == "zh" or _needs_unicode(*texts):
        font = "cjk"
    pdf = _Letter(font, footer)
    if font == "cjk":
        path = find_cjk_font(cjk_font)
        pdf.add_font("cjk", "", str(path))
        pdf.add_font("cjk", "B", str(path))
    pdf.add_page()
    _letterhead(pdf, head, labels)
    _window_address(pdf, head, letter)
    _date_and_reference(pdf, letter, labels)
    pdf.set_xy(20, 105)
    pdf.set_font(font, size=11)
    pdf.multi_cell(0, 5.6, letter.body.strip())
    return bytes(pdf.output()), pdf.page_no()


def _letterhead(pdf: _Letter, head: Letterhead, labels: dict[str, str]) -> None:
    pdf.set_xy(20, 15)
    pdf.set_font(pdf.body_font, "B", 18)
    pdf.cell(100, 9, head.administration)
    pdf.set_font(pdf.body_font, size=9)
    lines = [*head.return_address, f"{labels['phone']} {head.phone}",
             f"{labels['email']} {head.email}"]
    for number, line in enumerate(lines):
        pdf.set_xy(120, 15 + number * 4.5)
        pdf.cell(70, 4.5, line, align="R")


def _window_address(pdf: _Letter, head: Letterhead, letter: LetterContent) -> None:
    pdf.set_xy(WINDOW_LEFT, WINDOW_TOP - 5)
    pdf.set_font(pdf.body_font, size=7)
    pdf.cell(WINDOW_WIDTH, 4, ", ".join([head.administration, *head.return_address]))
    pdf.set_font(pdf.body_font, size=11)
    lines = [letter.recipient_name, *letter.recipient_address]
    for number, line in enumerate(line for line in lines if line.strip()):
        pdf.set_xy(WINDOW_LEFT, WINDOW_TOP + number * 5.5)
        pdf.cell(WINDOW_WIDTH, 5.5, line.strip())


def _date_and_reference(pdf: _Letter, letter: LetterContent, labels: dict[str, str]) -> None:
    pdf.set_font(pdf.body_font, size=10)
    pdf.set_xy(125, WINDOW_TOP)
    pdf.cell(65, 5.5, f"{labels['date']} {format_date(letter.date, letter.language)}")
    pdf.set_xy(125, WINDOW_TOP + 6)
    pdf.cell(65, 5.5, f"{labels['reference']} {letter.reference}")


_LABELS = {
    "en": {"phone": "Phone", "email": "Email", "date": "Date:", "reference": "Our reference:"},
    "zh": {"phone": "电话", "email": "电邮", "date": "日期：", "reference": "编号："},
}
