"""The satisfaction question at the end of a chat, and the citizen's answer in the widget.

Ending a chat resolves its case; the case board's survey sender (caseboard/satisfaction.py)
then queues the question on the chat (kind "survey") while the chat ended only just now: the
citizen's widget keeps listening for a while after the end, shows the question as a line
with buttons 1 to 5, and the click records the score through caseboard.satisfaction (a low
score reopens the case there). A chat that ended longer ago is gone: the question goes by
email or SMS instead (the can-ask check registered in init_channel says which).

The survey line's client id carries the survey's signed token ("survey-<token>"), so the
widget posts it back with the score, and a second delivery of the same item is one line.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from caseboard import satisfaction
from caseboard.models import utcnow
from caseboard.services import Services
from caseboard.supervisor_models import Survey
from channels.webchat import phrases
from channels.webchat.models import ChatLine, ChatSession, ChatStatus
from channels.webchat.store import ChatError, ChatStore, LineView

# The survey sender must get to a just-ended chat within this time for the chat to ask;
# the widget waits as long (and a little more) for the question.
ASK_WITHIN = dt.timedelta(minutes=2)
# The transport still puts a queued question in the chat this long after its end (the
# dispatcher may be behind); the widget shows it on the citizen's next visit or reload.
SHOW_WITHIN = dt.timedelta(minutes=15)
SURVEY_PREFIX = "survey-"
SCORED_PREFIX = "scored-"


def recently_ended(chat: ChatSession, within: dt.timedelta,
                   now: dt.datetime | None = None) -> bool:
    return (chat.status == ChatStatus.ENDED and chat.case_id is not None
            and chat.ended_at is not None and (now or utcnow()) - chat.ended_at < within)


def can_ask_in_chat(session: Session, chat_session_id: str) -> bool:
    """Is the citizen (most likely) still looking at the chat? While an agent holds it, and
    for ASK_WITHIN after its end: the widget waits that long for the question."""
    chat = session.get(ChatSession, chat_session_id)
    return chat is not None and (chat.status == ChatStatus.LIVE
                                 or recently_ended(chat, ASK_WITHIN))


def awaiting_survey(session: Session, chat: ChatSession) -> bool:
    """The widget should keep listening: the chat ended just now and has no question yet."""
    if not recently_ended(chat, ASK_WITHIN + dt.timedelta(seconds=30)):
        return False
    asked = session.execute(select(ChatLine.id).where(
        col(ChatLine.session_id) == chat.id, col(ChatLine.author) == "survey").limit(1)
    ).first()
    return asked is None


def may_show(chat: ChatSession) -> bool:
    return chat.status == ChatStatus.LIVE or recently_ended(chat, SHOW_WITHIN)


def survey_line(store: ChatStore, session: Session, chat: ChatSession,
                payload: dict[str, object]) -> LineView:
    """The question as a chat line (the caller has checked may_show)."""
    token = str(payload.get("token") or "")
    reference = str(payload.get("reference") or "")
    text = phrases.of(chat.language).survey.format(reference=reference)
    return store.insert_line(session, chat, "survey", "", text, SURVEY_PREFIX + token)


class ChatSurveys:
    """The citizen's click on a score in the chat."""

    def __init__(self, store: ChatStore, secret: str) -> None:
        self.store = store
        self.services: Services = store.services
        self.secret = secret

    def answer(self, session_id: str, token: object, score: object) -> tuple[LineView, int]:
        """Record the score (the first answer counts) and thank the citizen in the chat.
        Returns the thank-you line and the score that counts."""
        if not isinstance(score, int) or isinstance(score, bool) \
                or score not in satisfaction.SCORES:
            raise ChatError.citizen(400, "bad_score")
        chat = self.store.get(session_id)
        survey_id = satisfaction.survey_id_from(self.secret, str(token or ""))
        with self.services.database.write() as session:
            survey = session.get(Survey, survey_id) if survey_id is not None else None
            if survey is None or survey.case_id != chat.case_id:
                raise ChatError.citizen(404, "not_your_question")
            assert survey.id is not None
            recorded = satisfaction.record_score(
                session, survey.id, score, self.services.calendar,
                self.services.config["supervisor.low_score"])
            final = int(recorded.score or score)
            client_id = f"{SCORED_PREFIX}{survey.id}"
            earlier = session.execute(select(ChatLine).where(
                col(ChatLine.session_id) == chat.id,
                col(ChatLine.client_id) == client_id)).scalar_one_or_none()
            if earlier is not None:  # answered before: the first answer counts
                return LineView.of(earlier), final
            text = phrases.of(chat.language).survey_thanks.format(score=final)
            line = self.store.insert_line(session, chat, "system", "", text, client_id)
        return line, final
