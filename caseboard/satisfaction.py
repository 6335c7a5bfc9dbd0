"""Satisfaction: after a case is resolved, ask the citizen for a 1-5 score on its channel.

A consumer of the audit trail (cursor "survey") sees each `resolve` event exactly once and, in
the same transaction, stores a Survey and queues its message through the outbox (kind
"survey"). A question that rings the citizen's phone (a call, an SMS or WhatsApp message)
waits in the outbox until the administration's next opening time: nobody is called or texted
at night for a case resolved after hours. The message carries a signed link
/satisfaction/<token>: the token names the survey and cannot be forged or guessed. A low
score reopens the case and alerts the supervisors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session, col, select

from caseboard import audit, outbox, workflow
from caseboard.audit_feed import fold_next
from caseboard.db import Database
from caseboard.models import (
    AuditEvent,
    Case,
    CaseStatus,
    CitizenIdentity,
    Message,
    OutboxItem,
    User,
    utcnow,
)
from caseboard.supervisor_models import SupervisorAlert, Survey
from caseboard.timelimits import BusinessCalendar
from settings import Config

CURSOR = "survey"
SCORES = (1, 2, 3, 4, 5)
FOLLOW_UP_BATCH = 100
# The channel that asks, and the identity it needs, per case channel. A phone case is asked
# by an automated call (channels/phone/survey.py); a chat case in its chat while the citizen is
# still there (register_can_ask), else by email or SMS.
_ASK_ON = {"email": ("email", "email"), "sms": ("sms", "phone"),
           "whatsapp": ("whatsapp", "phone"), "phone": ("phone", "phone"),
           "webchat": ("webchat", "chat"), "letter": ("letter", "address")}
_FALLBACK = (("email", "email"), ("sms", "phone"))
# Channels that reach the citizen's phone at once: asked only in opening hours. Email waits
# in a mailbox anyway, and a chat must be asked while the citizen is still there.
_OPENING_HOURS_ONLY = ("phone", "sms", "whatsapp")
# channel → can it still ask this recipient now? A channel registers one in init_channel when
# its recipient can go away: a chat's case is resolved as its chat ends, and an ended chat
# refuses every line, so the question goes by email or SMS instead (or nowhere, recorded).
CanAsk = Callable[[Session, str], bool]
_can_ask: dict[str, CanAsk] = {}
QUESTION = {"en": "How satisfied are you with how we handled {reference}? "
                  "Choose 1 (not at all) to 5 (very): {url}",
            "zh": "您对我们处理 {reference} 的满意度如何？"
                  "请选择 1（很不满意）到 5（非常满意）：{url}"}


def register_can_ask(channel: str, check: CanAsk) -> None:
    _can_ask[channel] = check


def still_reachable(session: Session, channel: str, recipient: str) -> bool:
    """Is the citizen still there on `channel` (e.g. in the chat)? Yes unless it says no."""
    check = _can_ask.get(channel)
    return check is None or check(session, recipient)


def signing_key(config: Config) -> str:
    """The same secret the web app signs sessions with (web.secret_key or the stored key)."""
    key = config["web.secret_key"]
    if key:
        return str(key)
    return (config.data_dir / "secret_key").read_text().strip()


def _serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="satisfaction-survey")


def token_for(secret: str, survey_id: int) -> str:
    return _serializer(secret).dumps(survey_id)


def survey_id_from(secret: str, token: str) -> int | None:
    try:
        value = _serializer(secret).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


class SurveySender:
    """Folds `resolve` events into surveys queued on the outbox."""

    def __init__(self, database: Database, config: Config,
                 calendar: BusinessCalendar | None = None) -> None:
        self.database = database
        self.config = config
        self.calendar = calendar or BusinessCalendar.from_config(config)

    def step(self, now: dt.datetime | None = None) -> bool:
        more = fold_next(self.database, CURSOR,
                         lambda session, events: self.fold(session, events, now))
        return self.follow_up(now=now) or more

    def follow_up(self, batch: int = FOLLOW_UP_BATCH, now: dt.datetime | None = None) -> bool:
        """Questions whose channel has answered: sent ones are done; one refused (a chat gone,
        a bad address, a number that cannot take calls) is asked again the next way there is,
        or recorded as not asked. True when a full batch was looked at."""
        with self.database.write() as session:
            query = (select(Survey, OutboxItem)
                     .join(OutboxItem, col(OutboxItem.id) == col(Survey.outbox_id))
                     .where(col(Survey.outbox_id).is_not(None),
                            col(OutboxItem.status).in_(("sent", "failed")))
                     .order_by(col(Survey.outbox_id)).limit(batch))
            if not self.database.is_sqlite:  # two senders never re-ask one survey twice
                query = query.with_for_update(of=Survey, skip_locked=True)
            rows = session.execute(query).all()
            for survey, item in rows:
                survey.outbox_id = None
                if item.status == "failed" and survey.score is None:
                    self._ask_again(session, survey, item, now or utcnow())
                session.add(survey)
        return len(rows) == batch

    def _ask_again(self, session: Session, survey: Survey, refused: OutboxItem,
                   now: dt.datetime) -> None:
        case = session.get(Case, survey.case_id)
        assert case is not None
        refused_on, error = refused.channel, refused.last_error
        tried = tuple(survey.asked_on.split())
        target = _recipient(session, case, tried)
        if target is None:
            audit.record(session, case.id, "system", "survey_not_asked", refused_on,
                         survey_id=survey.id, reason=f"{refused_on} refused ({error}) "
                         "and no other channel can reach the citizen")
            return
        channel, recipient = target
        survey.outbox_id, waits = self._enqueue(session, survey.case_id, channel, recipient,
                                                dict(refused.payload), now)
        survey.asked_on = " ".join((*tried, channel))
        audit.record(session, case.id, "system", "survey_queued", channel,
                     survey_id=survey.id, instead_of=refused_on, because=error, **waits)

    def fold(self, session: Session, events: list[AuditEvent],
             now: dt.datetime | None = None) -> None:
        secret = signing_key(self.config)
        for event in events:
            if event.action == "resolve" and event.case_id is not None:
                self._ask(session, event.case_id, secret, event.at, now or utcnow())

    def _enqueue(self, session: Session, case_id: int, channel: str, recipient: str,
                 payload: dict[str, Any], now: dt.datetime) -> tuple[int, dict[str, str]]:
        """Queue the question; one that rings a phone is not due before the next opening.
        Returns the outbox id and, for the audit trail, when it waits until and why."""
        item_id = outbox.enqueue(session, case_id=case_id, channel=channel,
                                 recipient=recipient, kind="survey", payload=payload, now=now)
        opening = self.calendar.next_opening(now) if channel in _OPENING_HOURS_ONLY else now
        if opening <= now:
            return item_id, {}
        item = session.get(OutboxItem, item_id)
        assert item is not None
        item.next_attempt_at = opening
        session.add(item)
        return item_id, {"not_before": opening.isoformat(), "wait": "outside opening hours"}

    def _ask(self, session: Session, case_id: int, secret: str, at: dt.datetime,
             now: dt.datetime) -> None:
        case = session.get(Case, case_id)
        if case is None:
            return
        target = _recipient(session, case)
        if target is None:
            # Nobody is asked, visibly: the case's history says why there is no score.
            audit.record(session, case_id, "system", "survey_not_asked", case.channel,
                         reason="no channel can reach the citizen (no email or phone known)")
            return
        channel, recipient = target
        article = session.execute(
            select(Message.article_slug)
            .where(col(Message.case_id) == case_id, col(Message.article_slug).is_not(None))
            .order_by(col(Message.id).desc()).limit(1)).scalar_one_or_none()
        survey = Survey(case_id=case_id, channel=case.channel, department_id=case.department_id,
                        agent_user_id=case.assigned_user_id, article_slug=article, created_at=at)
        session.add(survey)
        session.flush()
        assert survey.id is not None
        url = f"{self.config['supervisor.public_url'].rstrip('/')}/satisfaction/" \
              f"{token_for(secret, survey.id)}"
        language = survey_language(case)
        subject = ("您对 {ref} 的处理满意吗？" if language == "zh"
                   else "How did we do with {ref}?").format(ref=case.reference)
        payload = {"reference": case.reference, "language": language, "url": url,
                   "token": token_for(secret, survey.id),
                   "subject": subject,
                   "score_urls": {str(s): f"{url}?score={s}" for s in SCORES},
                   "text": QUESTION[language].format(reference=case.reference, url=url)}
        survey.outbox_id, waits = self._enqueue(session, case_id, channel, recipient, payload,
                                                now)
        survey.asked_on = channel
        session.add(survey)
        audit.record(session, case_id, "system", "survey_queued", channel, survey_id=survey.id,
                     **waits)


def survey_language(case: Case | None) -> str:
    """The survey's language, for its message and its page: the case's (zh or en)."""
    return "zh" if case is not None and case.language.startswith("zh") else "en"


def _recipient(session: Session, case: Case, tried: tuple[str, ...] = ()
               ) -> tuple[str, str] | None:
    """The channel and recipient to ask on: the case's own channel if it can still ask,
    else email, else SMS; never one in `tried`."""
    identities = dict(session.execute(
        select(CitizenIdentity.kind, CitizenIdentity.value)
        .where(col(CitizenIdentity.citizen_id) == case.citizen_id)
        .order_by(col(CitizenIdentity.id))).all())
    channel, kind = _ASK_ON.get(case.channel, ("", ""))
    value = identities.get(kind) if kind else None
    check = _can_ask.get(channel)
    if value and channel not in tried and (check is None or check(session, value)):
        return channel, value
    for channel, fallback in _FALLBACK:
        if identities.get(fallback) and channel not in tried:
            return channel, identities[fallback]
    return None


def record_score(session: Session, survey_id: int, score: int, calendar: BusinessCalendar,
                 low_score: int, now: dt.datetime | None = None) -> Survey:
    """Store the citizen's answer (the first one counts); a low score reopens the case."""
    if score not in SCORES:
        raise ValueError("the score must be 1, 2, 3, 4 or 5")
    survey = session.get(Survey, survey_id)
    if survey is None:
        raise LookupError("no such survey")
    if survey.score is not None:
        return survey
    now = now or utcnow()
    survey.score, survey.answered_at = score, now
    session.add(survey)
    audit.record(session, survey.case_id, "citizen", "satisfaction_scored", survey.channel,
                 score=score, survey_id=survey_id)
    if score <= low_score:
        _reopen_for_supervisor(session, survey, calendar, now)
    return survey


def _reopen_for_supervisor(session: Session, survey: Survey, calendar: BusinessCalendar,
                           now: dt.datetime) -> None:
    case = session.get(Case, survey.case_id)
    assert case is not None
    if case.status in (CaseStatus.RESOLVED, CaseStatus.ANSWERED):
        workflow.apply(session, case, "reopen", "citizen", calendar=calendar,
                       channel=survey.channel, reason=f"low satisfaction score {survey.score}",
                       now=now)
    session.add(SupervisorAlert(case_id=survey.case_id, kind="low_score", raised_at=now,
                                message=f"{case.reference} scored {survey.score}/5: "
                                        "reopened for a supervisor to look at"))


def scores_by(session: Session, dimension: str) -> list[dict[str, Any]]:
    """Average score and count per department, channel, agent or article."""
    column: Any = {"department": Survey.department_id, "channel": Survey.channel,
                   "article": Survey.article_slug, "agent": User.username}[dimension]
    query = (select(column, sa.func.avg(Survey.score), sa.func.count())
             .where(col(Survey.score).is_not(None)))
    if dimension == "agent":
        query = query.join(User, col(User.id) == Survey.agent_user_id)
    rows = session.execute(query.group_by(column))
    # Sorted here: the databases put the no-article group (NULL) at opposite ends.
    return sorted(({"key": key or "(none)", "average": round(float(avg), 2), "count": int(count)}
                   for key, avg, count in rows), key=lambda row: str(row["key"]))
