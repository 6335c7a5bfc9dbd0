"""What outbound SMS say: the acknowledgement with the reference, and agents' replies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from settings import Config

MAX_SMS_CHARS = 1600  # Twilio refuses longer bodies
_ACK = {
    "en": "{administration}: we have your message. Your reference is {reference}. "
          "{department} will answer by {due}. Reply with more details any time.",
    "zh": "{administration}：我们已收到您的信息，案件编号 {reference}。"
          "{department}将于{due}前答复。",
}
_WE = {"en": "We", "zh": "我们"}  # no department known (yet)


def language_of(payload: dict[str, Any]) -> str:
    language = str(payload.get("language") or "en").lower().split("-")[0]
    return language if language in _ACK else "en"


def acknowledgement(config: Config, payload: dict[str, Any]) -> str:
    language = language_of(payload)
    names = payload.get("department_name") or {}
    department = names.get(language) or names.get("en") or payload.get("department", "")
    return _ACK[language].format(administration=config["administration.name"],
                                 reference=payload.get("reference", ""),
                                 department=department or _WE[language],
                                 due=_local(config, payload.get("first_response_due"), language))


def reply(payload: dict[str, Any]) -> str:
    return str(payload.get("text") or payload.get("body") or "").strip()


def _local(config: Config, value: Any, language: str) -> str:
    """The moment in the administration's time zone, written the reader's way:
    "08 Dec 16:00", or "12月8日 16:00" in Chinese (no English month names in a Chinese text)."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(config.timezone)
    if language == "zh":
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return local.strftime("%d %b %H:%M")
