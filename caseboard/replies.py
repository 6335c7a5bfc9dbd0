"""Answering a case: which channels can reach the citizen, the exact rendering, and Send.

Send writes the reply Message and its outbox item in one transaction, with the article slug
and version it used. A one-time form token makes a double submission write once; the case's
updated_at from page load makes a reply on a changed case wait until the agent looks again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import exc
from sqlmodel import Session, col, select

from caseboard import audit, outbox, satisfaction, workflow
from caseboard.case_models import FormSubmission
from caseboard.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Citizen,
    CitizenIdentity,
    Message,
    User,
    utcnow,
)
from caseboard.timelimits import BusinessCalendar
from knowledge_base.render import render
from knowledge_base.render_sms import count_sms
from knowledge_base.render_types import ArticleText, Rendering, ReplyContext, phrases_in
from knowledge_base.service import KnowledgeBase

MAX_REPLY_CHARS = 10_000
# Reply channel → the identity kind that reaches the citizen there.
REPLY_CHANNELS = {"email": "email", "sms": "phone", "whatsapp": "phone", "webchat": "chat",
                  "letter": "address"}


class ReplyError(ValueError):
    """The reply cannot be sent as it is; nothing was written."""


class PreviewChanged(ReplyError):
    """The reply differs from the preview the agent saw (edited text, a new article version)."""

    def __init__(self, rendering: Rendering) -> None:
        super().__init__("the reply is not the one you previewed: check this preview, then send")
        self.rendering = rendering


class StaleCaseError(ReplyError):
    """The case changed after the page was loaded: the agent should look again."""


@dataclass(frozen=True)
class ReplyTarget:
    channel: str
    recipient: str

    @property
    def value(self) -> str:
        """The form's value for this target: "channel:recipient"."""
        return f"{self.channel}:{self.recipient}"


# The reply channel of a sender identity's kind (the latest contact's sender picks one).
_KIND_CHANNEL = {"email": "email", "phone": "sms", "chat": "webchat", "address": "letter"}


def reply_targets(session: Session, case: Case) -> list[ReplyTarget]:
    """Every channel and address the citizen can be answered on, the one to pre-select first.

    Channels: the case's own, then the one the citizen asked to be answered on (their
    preferred channel), then the one the case's latest contact came from, then the others.
    Addresses of one kind: the one the case's latest contact came from, then the newest (a
    citizen who writes from a new address has usually left the old one). A chat the citizen
    is no longer in cannot reach them: it is not offered at all.
    """
    citizen = session.get(Citizen, case.citizen_id)
    latest = session.execute(select(Message.sender).where(
        col(Message.case_id) == case.id, col(Message.direction) == "in")
        .order_by(col(Message.id).desc()).limit(1)).scalar_one_or_none() or ""
    rows = session.execute(select(CitizenIdentity.kind, CitizenIdentity.value).where(
        col(CitizenIdentity.citizen_id) == case.citizen_id)
        .order_by(col(CitizenIdentity.id).desc())).all()
    addresses: dict[str, list[str]] = {}
    for kind, value in rows:
        addresses.setdefault(kind, []).append(value)
    postal = citizen.address if citizen is not None else ""
    if postal.strip() and postal not in addresses.get("address", []):  # by letter too
        addresses.setdefault("address", []).append(postal)
    latest_kind = ""
    for kind, values in addresses.items():
        values.sort(key=lambda value: not _same_address(value, latest))  # stable: newest next
        if values and _same_address(values[0], latest) and not latest_kind:
            latest_kind = kind
    if "chat" in addresses:
        addresses["chat"] = _chats_in_use(session, case, addresses["chat"])
    lead = [case.channel, citizen.preferred_channel if citizen else "",
            _KIND_CHANNEL.get(latest_kind, "")]
    order = sorted(REPLY_CHANNELS, key=lambda ch: (lead.index(ch) if ch in lead else 3, ch))
    return [ReplyTarget(ch, value) for ch in order
            for value in addresses.get(REPLY_CHANNELS[ch], [])]


def _same_address(value: str, sender: str) -> bool:
    """Is this identity the sender of a message (stored as the contact gave it)?"""
    sender = sender.strip()
    if not sender:
        return False
    if value in (sender, sender.lower()):
        return True
    # A phone number as typed ("07700 900321") against its E.164 identity (+447700900321).
    digits = "".join(c for c in sender if c.isdigit()).lstrip("0")
    return (value.startswith("+") and len(digits) >= 6
            and not any(c.isalpha() or c == "@" for c in sender)
            and value.endswith(digits))


def _chats_in_use(session: Session, case: Case, chats: list[str]) -> list[str]:
    """The chats the citizen is still in: the channel's own check (registered by the web
    chat), less the chats whose end is on one of the citizen's cases (an ended chat refuses
    every reply, even in the moments after its end when the channel may still ask there)."""
    alive = [chat for chat in chats if satisfaction.still_reachable(session, "webchat", chat)]
    if not alive:
        return []
    ended = {str((details or {}).get("chat_session") or "") for details in session.execute(
        select(AuditEvent.details).join(Case, col(Case.id) == col(AuditEvent.case_id)).where(
            col(Case.citizen_id) == case.citizen_id,
            col(AuditEvent.action) == "chat_ended")).scalars()}
    return [chat for chat in alive if chat not in ended]


def chosen_target(targets: list[ReplyTarget], channel: str,
                  recipient: str = "") -> ReplyTarget | None:
    """The target the form names; with no recipient, the first one of that channel."""
    wanted = " ".join(recipient.split())
    return next((t for t in targets if t.channel == channel
                 and (not wanted or " ".join(t.recipient.split()) == wanted)), None)


@dataclass(frozen=True)
class Draft:
    channel: str
    text: str
    recipient: str = ""  # empty: the channel's first address (see reply_targets)
    article: str = ""  # "slug:language" or empty
    form_token: str = ""
    version: str = ""  # the case's updated_at when the page was loaded
    previewed: str = ""  # digest of the preview the agent saw (see digest())


def digest(rendering: Rendering, recipient: str = "") -> str:
    """What the citizen would get, and where, in one value: Send refuses anything but the
    preview."""
    parts = (rendering.channel, recipient, rendering.subject or "", rendering.text,
             str(rendering.article_version))
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def parse_article(value: str) -> tuple[str, str] | None:
    slug, _, language = value.partition(":")
    return (slug, language) if slug and language else None


def article_text(kb: KnowledgeBase, value: str, help_base: str) -> ArticleText | None:
    parsed = parse_article(value)
    if parsed is None:
        return None
    published = kb.published(*parsed)
    if published is None:
        raise ReplyError(f"the article {value!r} is not published")
    version = published.version
    return ArticleText(slug=published.article.slug, version=version.number,
                       language=published.article.language, title=version.title,
                       short_answer=version.short_answer, body_markdown=version.body,
                       key_facts=tuple(version.key_facts),
                       url=f"{help_base}/help/{published.article.language}/"
                           f"{published.article.slug}")


def preview(session: Session, kb: KnowledgeBase, case: Case, user: User, draft: Draft,
            administration: str, help_base: str) -> Rendering:
    """Exactly what the citizen gets on the chosen channel."""
    target_of(session, case, draft)
    if len(draft.text) > MAX_REPLY_CHARS:
        raise ReplyError(f"the reply is too long ({len(draft.text)} characters; at most "
                         f"{MAX_REPLY_CHARS})")
    article = article_text(kb, draft.article, help_base)
    citizen = session.get(Citizen, case.citizen_id)
    context = ReplyContext(reference=case.reference, citizen_name=citizen.name if citizen else "",
                           agent_text=draft.text.strip(),
                           agent_name=user.display_name or user.username,
                           administration=administration, language=case.language or "en")
    if article is not None:
        try:
            return render(draft.channel, article, context)
        except ValueError as error:
            raise ReplyError(str(error)) from error
    if not draft.text.strip():
        raise ReplyError("write a reply or insert an article")
    return _plain(draft.channel, case, context)


def target_of(session: Session, case: Case, draft: Draft) -> ReplyTarget:
    """Where the draft goes; refused unless it is one of the citizen's reply targets now."""
    targets = reply_targets(session, case)
    target = chosen_target(targets, draft.channel, draft.recipient)
    if target is None:
        if draft.recipient and any(t.channel == draft.channel for t in targets):
            raise ReplyError(f"the citizen cannot be reached at {draft.recipient} by "
                             f"{draft.channel}")
        raise ReplyError(f"the citizen cannot be reached by {draft.channel}")
    return target


def _plain(channel: str, case: Case, context: ReplyContext) -> Rendering:
    """A reply of the agent's own words only, laid out like the article renderings and worded
    in the case's language by the same phrases (knowledge_base.render_types)."""
    phrases = phrases_in(context.language)
    text = context.agent_text
    reference = phrases.your_reference.format(reference=case.reference)
    name = " ".join(context.citizen_name.split())
    if channel in ("sms", "whatsapp"):
        body = (" ".join(text.split()) + " "
                + phrases.sms_reference.format(reference=case.reference))
        count = count_sms(body)
        return Rendering(channel, body, segments=count.segments, encoding=count.encoding)
    if channel == "email":
        greeting = phrases.greeting_named.format(name=name) if name else phrases.greeting_unnamed
        body = "\n\n".join([greeting, reference, text,
                             _signature(context, phrases.closing)])
        subject = " ".join(f"[{case.reference}] {case.subject or phrases.your_case}".split())
        return Rendering(channel, body, subject=subject[:250])
    if channel == "letter":
        greeting = (phrases.greeting_named.format(name=name) if name
                    else phrases.letter_greeting_unnamed)
        closing = phrases.letter_closing_named if name else phrases.letter_closing_unnamed
        body = "\n\n".join([reference, greeting, text, _signature(context, closing)])
        return Rendering(channel, body, subject=case.subject or None)
    return Rendering(channel, text)


def _signature(context: ReplyContext, closing: str) -> str:
    lines = [closing, " ".join(context.agent_name.split()), context.administration]
    return "\n".join(line for line in lines if line)


def send(session: Session, kb: KnowledgeBase, case: Case, user: User, draft: Draft, *,
         administration: str, help_base: str, calendar: BusinessCalendar,
         now: dt.datetime | None = None) -> tuple[int, bool]:
    """Write the reply and its outbox item. Returns (message id, written now?).

    A token seen before returns the first reply's message and writes nothing.
    """
    now = now or utcnow()
    earlier = earlier_submission(session, draft.form_token)
    if earlier is not None:
        return earlier, False
    if not draft.version:
        raise ReplyError("the form does not say which version of the case you saw: reload")
    if draft.version != case.updated_at.isoformat():
        raise StaleCaseError("this case changed since you opened it: look again, then send")
    rendering = preview(session, kb, case, user, draft, administration, help_base)
    target = target_of(session, case, draft)
    if draft.previewed != digest(rendering, target.recipient):
        raise PreviewChanged(rendering)
    message = Message(case_id=case.id or 0, direction="out", channel=draft.channel,
                      sender=user.username, subject=rendering.subject or "",
                      text=rendering.text, language=case.language, delivery_status="queued",
                      author_user_id=user.id, article_slug=rendering.article_slug or None,
                      article_version=rendering.article_version or None,
                      details={"to": target.recipient, "agent_text": draft.text.strip()},
                      created_at=now)
    session.add(message)
    session.flush()
    assert message.id is not None
    claim_token(session, draft.form_token, user, case, "reply", message.id, now)
    payload = {"text": rendering.text, "html": rendering.html or "",
               "subject": rendering.subject or "", "language": case.language or "en",
               "reference": case.reference}
    outbox.enqueue(session, case_id=case.id or 0, channel=draft.channel,
                   recipient=target.recipient, kind="reply", payload=payload,
                   message_id=message.id, now=now)
    audit.record(session, case.id, user.username, "reply", "board", reply_channel=draft.channel,
                 message_id=message.id, article=rendering.article_slug or None,
                 article_version=rendering.article_version or None)
    _answered(session, case, user, calendar, now)
    return message.id, True


def _answered(session: Session, case: Case, user: User, calendar: BusinessCalendar,
              now: dt.datetime) -> None:
    """A reply is the first response: move the case along where the workflow allows."""
    if case.status == CaseStatus.ACCEPTED:
        workflow.apply(session, case, "start", user.username, calendar=calendar,
                       channel="board", now=now)
    if case.status == CaseStatus.IN_PROGRESS:
        workflow.apply(session, case, "answer", user.username, calendar=calendar,
                       channel="board", now=now)
        return
    if case.first_response_at is None:
        case.first_response_at = now
    case.updated_at = now
    session.add(case)


def earlier_submission(session: Session, token: str) -> int | None:
    """The message written by an earlier submission of this form, if there was one."""
    if not token:
        raise ReplyError("the form has no submission token: reload the page")
    row = session.get(FormSubmission, token)
    if row is None:
        return None
    return row.message_id or 0


def claim_token(session: Session, token: str, user: User, case: Case, kind: str,
                message_id: int | None, now: dt.datetime) -> None:
    """Insert the token; a concurrent twin makes this fail and roll the whole write back."""
    if len(token) > 64:
        raise ReplyError("the form's submission token is not valid: reload the page")
    session.add(FormSubmission(token=token, user_id=user.id or 0, case_id=case.id,
                               kind=kind, message_id=message_id, created_at=now))
    try:
        session.flush()
    except exc.IntegrityError as error:
        raise DuplicateSubmission(token) from error


class DuplicateSubmission(ReplyError):
    """The same form was submitted twice at once; the other submission won."""
