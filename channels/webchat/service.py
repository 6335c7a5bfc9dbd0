"""The chat's parts for one app: store, flows, wake-up bus, token signing, allowed origins."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, or_, select

from caseboard.assignment import agent_states
from caseboard.models import Case, User
from caseboard.services import Services
from channels.webchat import survey, tokens
from channels.webchat.bus import ChatBus
from channels.webchat.feed import ChatFeed
from channels.webchat.flows import ChatFlows, cannot_take, chat_capacity
from channels.webchat.models import ChatSession, ChatStatus
from channels.webchat.store import ChatStore, is_typing, typing_seconds_left
from channels.webchat.survey import ChatSurveys
from channels.webchat.transport import ChatTransport


def parse_origins(text: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in text.split(",") if o.strip())


class ChatService:
    def __init__(self, services: Services, secret: str) -> None:
        self.services = services
        self.bus = ChatBus()
        self.poll_seconds = float(services.config["chat.poll_seconds"])
        self.feed = ChatFeed(services.database, self.bus, self.poll_seconds)
        self.store = ChatStore(services, self.bus, self.feed.published)
        self.transport = ChatTransport(self.store)
        self.flows = ChatFlows(self.store, self.transport)
        self.surveys = ChatSurveys(self.store, secret)
        self.secret = secret
        self.allowed_origins = parse_origins(services.config["chat.allowed_origins"])
        self.max_age = float(services.config["chat.session_hours"]) * 3600

    def token_for(self, session_id: str) -> str:
        return tokens.issue(self.secret, session_id)

    def session_of(self, token: str) -> str:
        return tokens.session_of(self.secret, token, self.max_age)

    def citizen_state(self, session_id: str) -> dict[str, Any]:
        chat = self.flows.recheck_queued(self.store.get(session_id))
        reference, agent = "", ""
        with self.services.database.read() as session:
            if chat.case_id is not None:
                case = session.get(Case, chat.case_id)
                reference = case.reference if case else ""
            if chat.agent_user_id is not None:
                user = session.get(User, chat.agent_user_id)
                agent = (user.display_name or user.username) if user else ""
            waiting_for_survey = survey.awaiting_survey(session, chat)
        # Only an agent in the chat types in it: an ended chat's last state says nobody does.
        typing = typing_seconds_left(chat.agent_typing_at) \
            if chat.status == ChatStatus.LIVE else 0.0
        return {"status": chat.status, "language": chat.language, "name": chat.display_name,
                "reference": reference, "agent": agent,
                "position": self.store.queue_position(chat),
                "agent_typing": typing > 0, "agent_typing_seconds": typing,
                "contact": chat.contact_email or chat.contact_phone,
                # Ended just now: the satisfaction question is on its way, keep listening.
                "awaiting_survey": waiting_for_survey}

    def agent_state(self, user: User, departments: set[str]) -> dict[str, Any]:
        """The agent's live chats and the chats waiting in their departments."""
        with self.services.database.read() as session:
            mine = list(session.execute(select(ChatSession).where(
                col(ChatSession.agent_user_id) == user.id,
                col(ChatSession.status) == ChatStatus.LIVE)
                .order_by(col(ChatSession.taken_at))).scalars())
            queued = _queued_for(session, user, departments)
            waiting = [chat for chat, _ in queued]
            # A chat in a language I do not speak (another department's, a service I do not
            # handle) is shown with the reason instead of a "Take chat" that is refused.
            me = next((a for a in agent_states(session, self.services.config)
                       if a.user_id == user.id), None) if queued else None
            refusals = {chat.id: cannot_take(me, case) if me is not None
                        else "only active agents can take chats" for chat, case in queued}
            references = dict(session.execute(select(Case.id, Case.reference).where(
                col(Case.id).in_([c.case_id for c in mine + waiting if c.case_id]))).all())
        def view(chat: ChatSession) -> dict[str, Any]:
            return {"id": chat.id, "name": chat.display_name, "question": chat.question[:200],
                    "reference": references.get(chat.case_id, ""),
                    "department": chat.department_id, "language": chat.language,
                    "queued_at": chat.queued_at.isoformat() if chat.queued_at else "",
                    "citizen_typing": is_typing(chat.citizen_typing_at),
                    "citizen_typing_seconds": typing_seconds_left(chat.citizen_typing_at)}
        return {"mine": [view(c) for c in mine],
                "waiting": [{**view(c), "cannot_take": refusals[c.id]} for c in waiting],
                "capacity": chat_capacity(self.services.config.assignment_capacity, user),
                "presence": user.presence}


def _queued_for(session: Session, user: User, departments: set[str]
                ) -> list[tuple[ChatSession, Case]]:
    """The chats waiting in these departments, with their cases. A push department's assigner
    may already have given the chat's case to someone: then only that agent sees it waiting."""
    rows = session.execute(
        select(ChatSession, Case).join(Case, col(Case.id) == col(ChatSession.case_id))
        .where(col(ChatSession.status) == ChatStatus.QUEUED,
               col(ChatSession.department_id).in_(departments),
               or_(col(Case.assigned_user_id).is_(None), col(Case.assigned_user_id) == user.id))
        .order_by(col(ChatSession.queued_at)).limit(50))
    return [(chat, case) for chat, case in rows]
