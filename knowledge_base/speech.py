"""Speech-friendly text: what a voice (text-to-speech) reply says aloud.

`spoken(text, language)` removes URLs and Markdown and writes amounts, phone numbers, times,
dates, postcodes and case references the way a person would say them, so that a TTS engine
does not read "£25" as "pound sign twenty-five" or "0161 496 0123" as one big number.
It is deterministic and works fact by fact: the voice renderer speaks each key fact with
`spoken(fact)`, so a test can check that every key fact is in the voice text.
"""

from __future__ import annotations

import re
from collections.abc import Callable

ENGLISH_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CHINESE_DIGITS = "零一二三四五六七八九"
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")
WEEKDAYS_EN = {"mon": "Monday", "tue": "Tuesday", "tues": "Tuesday", "wed": "Wednesday",
               "thu": "Thursday", "thur": "Thursday", "thurs": "Thursday", "fri": "Friday",
               "sat": "Saturday", "sun": "Sunday"}
WEEKDAYS_ZH = {"Monday": "周一", "Tuesday": "周二", "Wednesday": "周三", "Thursday": "周四",
               "Friday": "周五", "Saturday": "周六", "Sunday": "周日"}

_TIME = r"(?:[01]?\d|2[0-4]):[0-5]\d"
_PATTERNS: tuple[tuple[str, str], ...] = (
    ("link", r"\[(?P<link_text>[^\]]*)\]\([^)]*\)"),
    ("url", r"(?:https?://|www\.)[^\s<>\"')\]]+[^\s<>\"')\].,;:!?。，；：！？]"),
    ("email", r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    ("reference", r"\b(?P<ref_prefix>[A-Z]{2,3})[- ](?P<ref_year>\d{4})[- ](?P<ref_no>\d{6})\b"),
    ("phone", r"(?<![\d£.,:])(?:\+44\s?|0)\d{2,4}(?:[ -]\d{3,4}){1,2}(?![\d:])"),
    ("emergency", r"(?P<em_verb>\b(?i:call|ring|dial|phone|on)\s+|拨打|致电|电话)"
                  r"(?P<em_no>999|112|111|101)(?!\d)"),
    ("money", r"£\s?(?P<pounds>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<pence_part>\d{2}))?"
              r"(?:\s?(?P<scale>million|billion)\b)?"),
    ("pence", r"\b(?P<pence_only>\d{1,2})p\b"),
    ("time_range", rf"(?P<t_from>{_TIME})\s*(?:-|–|—|to|至|到)\s*(?P<t_to>{_TIME})"),
    ("time", rf"(?<![\d:])(?P<t_one>{_TIME})(?![\d:])"),
    ("iso_date", r"\b(?P<iso_y>\d{4})-(?P<iso_m>\d{2})-(?P<iso_d>\d{2})\b"),
    ("uk_date", r"\b(?P<uk_d>\d{1,2})/(?P<uk_m>\d{1,2})/(?P<uk_y>\d{4})\b"),
    ("day_range", r"\b(?P<d_from>Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?\s*(?:-|–|—)"
                  r"\s*(?P<d_to>Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\b\.?"),
    ("postcode", r"\b(?P<pc>[A-Z]{1,2}\d[A-Z\d]?) ?(?P<pc2>\d[A-Z]{2})\b"),
    ("percent", r"(?P<pct>\d+(?:\.\d+)?)\s?%"),
    ("num_range", r"(?<![\d:.])(?P<n_from>\d+)\s?(?:-|–|—)\s?(?P<n_to>\d+)(?![\d:])"),
    ("always", r"\b24/7\b"),
    ("thousands", r"\b\d{1,3}(?:,\d{3})+\b"),
    ("symbol", r"[&@+/=~^|\\<>{}\[\]]"),
)
_TOKEN = re.compile("|".join(f"(?P<{name}>{rx})" for name, rx in _PATTERNS))
_MARKUP_LINE = re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3}|`+)(?=\S)(.+?)(?<=\S)\1")
_STRAY_MARKUP = re.compile(r"[*_`#]+")


def digits(number: str, language: str) -> str:
    """Each digit as a word: '0161' → 'zero one six one' / '零一六一'."""
    if language == "zh":
        return "".join(CHINESE_DIGITS[int(c)] for c in number if c.isdigit())
    return " ".join(ENGLISH_DIGITS[int(c)] for c in number if c.isdigit())


def clock(text: str, language: str) -> str:
    """'08:00' → '8 a.m.' / '上午8点'; '12:30' → '12:30 p.m.' / '中午12点30分'."""
    hours_text, minutes_text = text.split(":")
    hours, minutes = int(hours_text) % 24, int(minutes_text)
    if language == "zh":
        if hours < 6:
            part = "凌晨"
        elif hours < 12:
            part = "上午"
        elif hours < 13:
            part = "中午"
        elif hours < 19:
            part = "下午"
        else:
            part = "晚上"
        hour12 = hours if hours <= 12 else hours - 12
        return f"{part}{hour12}点" + (f"{minutes}分" if minutes else "")
    if minutes == 0 and hours == 0:
        return "midnight"
    if minutes == 0 and hours == 12:
        return "12 noon"
    suffix = "a.m." if hours < 12 else "p.m."
    hour12 = hours % 12 or 12
    return f"{hour12}:{minutes:02d} {suffix}" if minutes else f"{hour12} {suffix}"


def _date(day: int, month: int, year: int | None, language: str) -> str:
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        raise ValueError("not a date")
    if language == "zh":
        return (f"{year}年" if year else "") + f"{month}月{day}日"
    return f"{day} {MONTHS_EN[month - 1]}" + (f" {year}" if year else "")


def _money(match: re.Match[str], language: str) -> str:
    pounds = match["pounds"].replace(",", "")
    pence = int(match["pence_part"] or 0)
    if match["scale"]:  # "£5 million", "£1.5 billion"
        amount = pounds + (f".{match['pence_part']}".rstrip("0").rstrip(".") if pence else "")
        if language == "zh":
            return amount + ("百万英镑" if match["scale"] == "million" else "十亿英镑")
        return f"{amount} {match['scale']} pounds"
    if language == "zh":
        return f"{pounds}英镑" + (f"{pence}便士" if pence else "")
    if pounds == "0" and pence:
        return f"{pence} pence"
    unit = "pound" if pounds == "1" else "pounds"
    return f"{pounds} {unit}" + (f" {pence}" if pence else "")


def _phone(number: str, language: str) -> str:
    groups = re.split(r"[ -]+", number.replace("+44", "+44 ").strip())
    words = []
    for group in groups:
        if group == "+44":
            words.append("加四四" if language == "zh" else "plus four four")
        else:
            words.append(digits(group, language))
    return ("，" if language == "zh" else ", ").join(words)


_SYMBOL_WORDS = {"&": ("和", "and"), "+": ("加", "plus"), "/": ("或", "or"),
                 "=": ("等于", "equals")}


def _say_token(match: re.Match[str], language: str) -> str:
    kind = match.lastgroup or ""
    zh = language == "zh"
    handler = _HANDLERS.get(kind)
    if handler is not None:
        return handler(match, language)
    text = match.group(0)
    if kind == "symbol":
        pair = _SYMBOL_WORDS.get(text)
        return (f" {pair[1]} " if not zh else pair[0]) if pair else " "
    return text


def _say_date(match: re.Match[str], language: str) -> str:
    try:
        if match["iso_y"]:
            return _date(int(match["iso_d"]), int(match["iso_m"]), int(match["iso_y"]), language)
        return _date(int(match["uk_d"]), int(match["uk_m"]), int(match["uk_y"]), language)
    except ValueError:
        return match.group(0)


def _say_reference(match: re.Match[str], language: str) -> str:
    letters = " ".join(match["ref_prefix"])
    sep = "，" if language == "zh" else ", "
    numbers = (digits(match["ref_year"], language), digits(match["ref_no"], language))
    return sep.join((letters, *numbers))


def _say_day_range(match: re.Match[str], language: str) -> str:
    first, last = (WEEKDAYS_EN[match[g].lower()] for g in ("d_from", "d_to"))
    if language == "zh":
        return f"{WEEKDAYS_ZH[first]}至{WEEKDAYS_ZH[last]}"
    return f"{first} to {last}"


def _say_email(match: re.Match[str], language: str) -> str:
    at, dot = (" 艾特 ", " 点 ") if language == "zh" else (" at ", " dot ")
    local, domain = match.group(0).split("@", 1)
    return local.replace(".", dot) + at + domain.replace(".", dot)


_HANDLERS: dict[str, Callable[[re.Match[str], str], str]] = {
    "link": lambda m, lang: m["link_text"],
    "url": lambda m, lang: "",
    "email": _say_email,
    "reference": _say_reference,
    "phone": lambda m, lang: _phone(m.group(0), lang),
    "emergency": lambda m, lang: m["em_verb"] + digits(m["em_no"], lang),
    "money": _money,
    "pence": lambda m, lang: m["pence_only"] + ("便士" if lang == "zh" else " pence"),
    "time_range": lambda m, lang: clock(m["t_from"], lang) + ("至" if lang == "zh" else " to ")
    + clock(m["t_to"], lang),
    "time": lambda m, lang: clock(m["t_one"], lang),
    "iso_date": _say_date,
    "uk_date": _say_date,
    "day_range": _say_day_range,
    "postcode": lambda m, lang: " ".join(m["pc"]) + (", " if lang != "zh" else "，")
    + " ".join(m["pc2"]),
    "percent": lambda m, lang: f"百分之{m['pct']}" if lang == "zh" else f"{m['pct']} percent",
    "num_range": lambda m, lang: m["n_from"] + ("至" if lang == "zh" else " to ") + m["n_to"],
    "always": lambda m, lang: "全天24小时" if lang == "zh" else "24 hours a day, 7 days a week",
    "thousands": lambda m, lang: m.group(0).replace(",", ""),
}


def strip_markup(text: str) -> str:
    """Plain words from Markdown: no headings, bullets, emphasis or code marks."""
    text = _MARKUP_LINE.sub("", text)
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    return _STRAY_MARKUP.sub("", text)


def spoken(text: str, language: str) -> str:
    """The text as a voice reply should say it: no URLs or markup; amounts, times, dates and
    phone numbers written out to be spoken, in English or Chinese."""
    text = re.sub(r"<[^>]*>", " ", text)  # stray HTML tags are never read aloud
    text = _TOKEN.sub(lambda m: _say_token(m, language), text)
    text = strip_markup(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:  # a pause between lines, or a heading runs into the next sentence
        stop = "。" if language == "zh" else "."
        lines = [line if line[-1] in ".!?:;。！？：；" else line + stop for line in lines]
    text = " ".join(lines)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\s+([,.;:!?，。；：！？])", r"\1", text)
    text = re.sub(r"\(\s*\)", "", text)
    return text.strip()
