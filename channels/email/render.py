"""The acknowledgement and replies as mail text, in the citizen's language (English, Chinese)."""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

from settings import Config


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    language: str


_ACK = {
    "en": {
        "subject": "[{reference}] We have received your message",
        "greeting": "Dear {name},",
        "nobody": "Sir or Madam",
        "body": ("Thank you for contacting {administration}. We have received your message "
                 "and opened case {reference}."),
        "next": ("What happens next: your message is with our {department} team. They will "
                 "answer you by {due} at the latest."),
        "keep": ("To add something, simply reply to this email, or quote {reference} when you "
                 "contact us by any other way."),
        "auto": "This is an automatic acknowledgement.",
        "date": "%A %d %B %Y, %H:%M",
    },
    "zh": {
        "subject": "[{reference}] 我们已收到您的来信",
        "greeting": "{name}，您好：",
        "nobody": "市民",
        "body": "感谢您联系{administration}。我们已收到您的来信，并已登记为案件 {reference}。",
        "next": "后续处理：您的来信已转交{department}，我们将在 {due} 之前答复您。",
        "keep": "如需补充，请直接回复本邮件；通过其他方式联系我们时，请提供案件编号 {reference}。",
        "auto": "此邮件为自动回复。",
        "date": "%Y年%m月%d日 %H:%M",
    },
}


def language_of(payload: dict[str, Any]) -> str:
    language = str(payload.get("language") or "en").lower().split("-")[0]
    return language if language in _ACK else "en"


def acknowledgement(config: Config, payload: dict[str, Any]) -> RenderedMail:
    language = language_of(payload)
    words = _ACK[language]
    names = payload.get("department_name") or {}
    department = names.get(language) or names.get("en") or payload.get("department", "")
    values = {
        "reference": payload.get("reference", ""),
        "name": payload.get("citizen_name") or words["nobody"],
        "administration": config["administration.name"],
        "department": department,
        "due": _local_time(config, payload.get("first_response_due"), words["date"]),
    }
    subject = words["subject"].format(**values)
    if payload.get("subject"):
        subject += (": " if language == "en" else "：") + _unprefixed(str(payload["subject"]))
    paragraphs = [words["greeting"].format(**values), words["body"].format(**values),
                  words["next"].format(**values), words["keep"].format(**values),
                  f"{words['auto']}\n{config['administration.name']}"]
    return RenderedMail(subject[:250], "\n\n".join(paragraphs) + "\n", _html(paragraphs),
                        language)


def reply(config: Config, payload: dict[str, Any], reference: str) -> RenderedMail:
    """An agent's reply (or any other outbox kind) with the text it carries."""
    text = str(payload.get("text") or payload.get("body") or "")
    subject = _unprefixed(str(payload.get("subject") or "")) or (
        "您的案件" if language_of(payload) == "zh" else "Your case")
    if reference and reference not in subject:
        subject = f"[{reference}] {subject}"
    if text and not subject.lower().startswith("re:") and payload.get("in_reply_to"):
        subject = f"Re: {subject}"
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    # A knowledge-base rendering brings its own HTML (built by us from escaped text).
    markup = str(payload.get("html") or "") or _html(paragraphs)
    return RenderedMail(subject[:250], text.rstrip() + "\n" if text else "", markup,
                        language_of(payload))


def _unprefixed(subject: str) -> str:
    subject = " ".join(subject.split())
    while subject.lower().startswith(("re:", "aw:", "fw:", "fwd:", "回复：", "回复:")):
        subject = subject.split(":", 1)[-1].split("：", 1)[-1].strip()
    return subject


def _local_time(config: Config, value: Any, pattern: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(config.timezone)
    return f"{local.strftime(pattern)} ({local.tzname()})"


def _html(paragraphs: list[str]) -> str:
    body = "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>\n" for p in paragraphs)
    return f'<!doctype html>\n<html><body style="font-family:sans-serif">\n{body}</body></html>\n'
