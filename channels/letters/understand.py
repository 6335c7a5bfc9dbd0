"""Understanding a letter's text: reference, sender (name, address block, postcode), date,
phone, email, subject and language. Pure functions over the OCR text; no I/O.

English letters: the sender's block is the block of short lines that ends with a postcode
(not ours), the name its first line or the name under "Yours sincerely". Chinese letters
label their fields (寄信人 / 姓名, 地址, 邮编, 电话).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import phonenumbers

from caseboard.references import find_references, reference_pattern

UK_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\b")
CN_POSTCODE = re.compile(r"(?:邮编|邮政编码)\s*[:：]?\s*([0-9]{6})")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CLOSINGS = re.compile(r"^(yours\s+(sincerely|faithfully|truly)|kind regards|best wishes|"
                      r"regards|many thanks)[,.]?$", re.IGNORECASE)
SUBJECT = re.compile(r"^(re|subject|about)\s*[:：]\s*(.+)$", re.IGNORECASE)
CN_FIELDS = {
    "name": re.compile(r"(?:寄信人|寄件人|姓名|联系人|来信人)\s*[:：]\s*(\S+)"),
    "address": re.compile(r"(?:地址|住址)\s*[:：]\s*(.+)"),
    "phone": re.compile(r"(?:电话|手机|联系电话)\s*[:：]\s*([0-9+ ()-]{7,})"),
    "subject": re.compile(r"(?:事由|主题|关于)\s*[:：]\s*(.+)"),
}
MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
DATE_WORDS = re.compile(r"\b([0-3]?[0-9])(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\s+(20[0-9]{2})\b")
DATE_ISO = re.compile(r"\b(20[0-9]{2})-([01][0-9])-([0-3][0-9])\b")
DATE_SLASH = re.compile(r"\b([0-3]?[0-9])[/.]([01]?[0-9])[/.](20[0-9]{2})\b")
DATE_CN = re.compile(r"(20[0-9]{2})\s*年\s*([01]?[0-9])\s*月\s*([0-3]?[0-9])\s*日")


@dataclass(frozen=True)
class LetterFacts:
    references: tuple[str, ...]
    name: str
    address: str  # the address lines, comma-separated, postcode included
    postcode: str
    letter_date: dt.date | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    subject: str
    language: str

    def as_dict(self) -> dict[str, object]:
        return {"references": list(self.references), "name": self.name,
                "address": self.address, "postcode": self.postcode,
                "date": self.letter_date.isoformat() if self.letter_date else None,
                "phones": list(self.phones), "emails": list(self.emails),
                "subject": self.subject, "language": self.language}


def language_of(text: str) -> str:
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    letters = sum(1 for c in text if c.isalpha())
    return "zh" if letters and cjk / letters > 0.2 else "en"


def blocks_of(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line.strip())
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def format_postcode(outward: str, inward: str) -> str:
    return f"{outward.upper()} {inward.upper()}"


def _own_postcodes(own_address: str) -> set[str]:
    return {format_postcode(*m) for m in UK_POSTCODE.findall(own_address.upper())}


def _looks_like_name(line: str) -> bool:
    words = line.replace(".", " ").split()
    return (1 <= len(words) <= 5 and not any(ch.isdigit() for ch in line)
            and all(w[:1].isupper() for w in words) and len(line) <= 50)


def _english_sender(text: str, own_address: str, administration: str
                    ) -> tuple[str, list[str], str]:
    """(name, address lines, postcode) from the first block ending in a postcode not ours."""
    own = _own_postcodes(own_address)
    admin = administration.casefold()
    for block in blocks_of(text):
        for index, line in enumerate(block):
            found = UK_POSTCODE.search(line.upper())
            if not found or format_postcode(*found.groups()) in own:
                continue
            if any(admin and admin in other.casefold() for other in block):
                break  # our own address block, written by the citizen
            lines = block[max(0, index - 5):index + 1]
            lines = [ln for ln in lines if not EMAIL.search(ln) and not _is_phone_line(ln)]
            name = lines[0] if lines and _looks_like_name(lines[0]) else ""
            address = lines[1:] if name else lines
            return name, address, format_postcode(*found.groups())
    return "", [], ""


def _is_phone_line(line: str) -> bool:
    return bool(re.match(r"^(tel|phone|telephone|mobile)\b", line, re.IGNORECASE))


def _signature_name(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if CLOSINGS.match(line) and index + 1 < len(lines) and _looks_like_name(lines[index + 1]):
            return lines[index + 1]
    return ""


def _letter_date(text: str) -> dt.date | None:
    candidates: list[tuple[int, int, int]] = []
    for day, month, year in DATE_WORDS.findall(text):
        if month.casefold()[:3] in {m[:3] for m in MONTHS}:
            number = next(v for k, v in MONTHS.items() if k[:3] == month.casefold()[:3])
            candidates.append((int(year), number, int(day)))
    candidates += [(int(y), int(m), int(d)) for y, m, d in DATE_ISO.findall(text)]
    candidates += [(int(y), int(m), int(d)) for d, m, y in DATE_SLASH.findall(text)]
    candidates += [(int(y), int(m), int(d)) for y, m, d in DATE_CN.findall(text)]
    for year, month, day in candidates:
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def _phones(text: str, region: str) -> tuple[str, ...]:
    found = []
    # POSSIBLE, not VALID: citizens write numbers from ranges the library does not know yet.
    leniency = phonenumbers.Leniency.POSSIBLE
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=leniency):
        if len(str(match.number.national_number)) < 9:  # a year, a house number, a postcode
            continue
        number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if number not in found:
            found.append(number)
    return tuple(found)


def _subject(text: str, language: str) -> str:
    for line in text.splitlines():
        match = SUBJECT.match(line.strip())
        if match:
            return match.group(2).strip()[:200]
    if language == "zh":
        match = CN_FIELDS["subject"].search(text)
        if match:
            return match.group(1).strip()[:200]
    return ""


def understand(text: str, *, prefix: str, region: str, own_address: str,
               administration: str) -> LetterFacts:
    language = language_of(text)
    own_email = {e.casefold() for e in EMAIL.findall(own_address)}
    emails = tuple(dict.fromkeys(e for e in EMAIL.findall(text) if e.casefold() not in own_email))
    # A reference's digits are not a phone number.
    phones = _phones(reference_pattern(prefix).sub(" ", text), region)
    if language == "zh":
        name, address, postcode = _chinese_sender(text)
        # Chinese numbers are written without +86.
        phones = _phones(reference_pattern(prefix).sub(" ", text), "CN")
    else:
        name, lines, postcode = _english_sender(text, own_address, administration)
        name = name or _signature_name(text)
        address = ", ".join(lines)
    if language != "zh":
        # OCR often drops the space between capitalised words ("MargaretThornton").
        name, address = _spaced(name), _spaced(address)
    return LetterFacts(tuple(find_references(text, prefix)), name, address, postcode,
                       _letter_date(text), phones, emails, _subject(text, language), language)


def _spaced(text: str) -> str:
    """Put back a space OCR dropped between words: "MargaretThornton", "14Willow"."""
    text = re.sub(r"(?<=[a-z]{2})(?=[A-Z][a-z])", " ", text)
    return re.sub(r"\b([0-9]{1,4})(?=[A-Z][a-z]{2})", r"\1 ", text)


def _chinese_sender(text: str) -> tuple[str, str, str]:
    fields = {key: pattern.search(text) for key, pattern in CN_FIELDS.items()}
    name = fields["name"].group(1).strip() if fields["name"] else ""
    address = fields["address"].group(1).strip() if fields["address"] else ""
    postcode = CN_POSTCODE.search(text)
    if not postcode:  # an English-style postcode in a Chinese letter
        uk = UK_POSTCODE.search(text.upper())
        return name, address, format_postcode(*uk.groups()) if uk else ""
    return name, address, postcode.group(1)
