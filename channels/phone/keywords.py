"""STOP / START / HELP and their Chinese equivalents, and the opt-out list they change."""

from __future__ import annotations

import re

from sqlmodel import Session

from caseboard.models import utcnow
from channels.phone.models import SmsOptOut

STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout",
                        "opt-out", "revoke", "退订", "取消", "停止", "退定", "td", "取消订阅"})
START_WORDS = frozenset({"start", "unstop", "订阅", "开始", "重新订阅"})
HELP_WORDS = frozenset({"help", "info", "帮助", "求助"})
# The message from its first to its last letter or digit: what is left once the spaces,
# punctuation and underscores around it are trimmed. One search, where a trimming sub()
# tried its end pattern at every position of the message.
_WORD = re.compile(r"[^\W_](?:.*[^\W_])?", re.DOTALL)


def keyword(body: str) -> str | None:
    """"stop", "start" or "help" when the whole message is one of those words."""
    found = _WORD.search(body or "")
    word = found.group().lower() if found else ""
    if len(word) > 16:
        return None
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def set_opt_out(session: Session, number: str, opted_out: bool, word: str) -> None:
    row = session.get(SmsOptOut, number)
    if row is None:
        row = SmsOptOut(number=number)
    row.opted_out, row.keyword, row.changed_at = opted_out, word[:32], utcnow()
    session.add(row)


def is_opted_out(session: Session, number: str) -> bool:
    row = session.get(SmsOptOut, number)
    return bool(row and row.opted_out)
