"""What a chat goes through: self-service answer, hand-over to a person, an agent taking it,
a message case when nobody is there, the end with its transcript on the case."""

from __future__ import annotations

import math
import secrets
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import replace

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from caseboard import audit, outbox, workflow
from caseboard.assignment import AssignmentError, agent_states, assign
from caseboard.contacts import InboundContact, Sender
from caseboard.identity import normalise_email, normalise_phone
from caseboard.intake import IntakeError
from caseboard.models import Case, Citizen, Message, OutboxItem, User, table_of, utcnow
from caseboard.outbox import PermanentSendError
from channels.webchat import phrases
from channels.webchat.models import ChatLine, ChatSession, ChatStatus
from channels.webchat.store import ChatError, ChatStore, LineView, clean_text
from channels.webchat.transport import IMMEDIATE_GRACE, ChatTransport
from knowledge_base.models import KbArticle, KbArticleVersion
from knowledge_base.render import ArticleText, ReplyContext, render
from routing.assignment import DEFAULT_CAPACITY, AgentState, WorkItem, why_not
from settings import Config


class ChatFlows:
    # A queued chat is looked at again (is anyone left who could take it?) at most this often,
    # and given up only when nobody could for this long: an agent who switches presence for a
    # moment does not send the whole queue to message cases.
    recheck_seconds = 10.0
    stranded_seconds = 60.0

    def __init__(self, store: ChatStore, transport: ChatTransport) -> None:
        self.store = store
        self.transport = transport
        self.services = store.services
        self.config = store.config
        self._lock = threading.Lock()
        self._checked: dict[str, float] = {}  # chat → when it was last looked at
        self._nobody_since: dict[str, float] = {}  # chat → since when nobody could take it

    # ------------------------------------------------------------------ citizen side

    def _take_contact(self, chat: ChatSession, client_id: str, text: str,
                      **extra: object) -> tuple[int, int, str]:
        contact = InboundContact(
            channel="webchat", external_id=f"{chat.id}:{client_id}",
            sender=Sender(name=chat.display_name, chat_session=chat.id), text=text,
            language=chat.language, own_thread_id=f"{chat.id}:thread",
            metadata={"chat_session": chat.id}, **extra)  # type: ignore[arg-type]
        try:
            result = self.services.intake.take(contact)
        except IntakeError as error:
            raise ChatError(400, str(error), phrase="not_taken") from None
        return result.case_id, result.message_id, result.reference

    def handover(self, session_id: str, question: str, client_id: str, address: str) -> str:
        """The citizen asks for a person: the chat becomes a case, queued or a message case."""
        question = self.store.check_text(question)
        chat = self.store.get(session_id)
        if chat.status != ChatStatus.SELF_SERVICE:
            return chat.status  # already handed over (a second click, a retried request)
        case_id, message_id, reference = self._take_contact(chat, client_id, question)
        open_now = self.services.calendar.is_working_time(utcnow())
        with self.database_write() as session:
            case = session.get(Case, case_id)
            assert case is not None
            staffed = open_now and someone_could_take(session, self.config, case)
            status = ChatStatus.QUEUED if staffed else ChatStatus.MESSAGE
            table = table_of(ChatSession)
            moved = session.connection().execute(
                sa.update(table).where(table.c.id == chat.id,
                                       table.c.status == ChatStatus.SELF_SERVICE)
                .values(status=status, case_id=case_id, department_id=case.department_id,
                        question=question, queued_at=utcnow()))
            if moved.rowcount != 1:
                return self.store.get(session_id).status
            chat.case_id, chat.status = case_id, status
            self.store.insert_line(session, chat, "citizen", chat.display_name, question,
                                   client_id, address=address, message_id=message_id)
            words = phrases.of(chat.language)
            self.store.system_line(session, chat, (words.queued if staffed else
                                                   words.nobody).format(reference=reference))
            audit.record(session, case_id, "citizen", "chat_handover", "webchat",
                         chat_session=chat.id, outcome=status)
        self.store.wake(chat, queue=True)
        return status

    def recheck_queued(self, chat: ChatSession) -> ChatSession:
        """A queued chat that nobody left could take (the last agent who could went away or
        offline) becomes a message case, as it would have at the hand-over: the citizen is
        told so in their language instead of waiting for ever. Called as the citizen's page
        reads its state (at least every half minute while it is open)."""
        if chat.status != ChatStatus.QUEUED or chat.case_id is None:
            return chat
        now = time.monotonic()
        with self._lock:
            if now - self._checked.get(chat.id, -math.inf) < self.recheck_seconds:
                return chat
            if len(self._checked) > 10_000:  # forget chats long gone from the queue
                self._checked = {k: v for k, v in self._checked.items() if now - v < 3600}
                self._nobody_since = {k: v for k, v in self._nobody_since.items()
                                      if k in self._checked}
            self._checked[chat.id] = now
        with self.services.database.read() as session:
            case = session.get(Case, chat.case_id)
            staffed = case is None or someone_could_take(session, self.config, case)
        with self._lock:
            if staffed:
                self._nobody_since.pop(chat.id, None)
                return chat
            since = self._nobody_since.setdefault(chat.id, now)
            if now - since < self.stranded_seconds:
                return chat
            self._nobody_since.pop(chat.id, None)
        assert case is not None
        with self.database_write() as session:
            table = table_of(ChatSession)
            moved = session.connection().execute(
                sa.update(table).where(table.c.id == chat.id,
                                       table.c.status == ChatStatus.QUEUED)
                .values(status=ChatStatus.MESSAGE))
            if moved.rowcount != 1:  # taken (or given up by another process) meanwhile
                return self.store.get(chat.id)
            chat.status = ChatStatus.MESSAGE
            self.store.system_line(session, chat, phrases.of(chat.language).nobody
                                   .format(reference=case.reference))
            audit.record(session, case.id, "system", "chat_unstaffed", "webchat",
                         chat_session=chat.id, outcome=ChatStatus.MESSAGE)
        self.store.wake(chat, queue=True)
        return chat

    def answered_by_article(self, session_id: str, question: str, slug: str,
                            language: str) -> str:
        """"This answered my question": a resolved case recording the article version."""
        chat = self.store.get(session_id)
        if chat.status != ChatStatus.SELF_SERVICE:
            raise ChatError.citizen(409, "already_handed_over")
        question = self.store.check_text(question)
        published = self.services.kb.published(slug, language)
        if published is None:
            raise ChatError.citizen(404, "not_published")
        article, version = published.article, published.version
        case_id, _, reference = self._take_contact(
            chat, secrets.token_hex(8), question, automated=True,
            explicit_department=article.department or None)
        text = render("webchat", _article_text(article, version), ReplyContext(
            reference=reference, language=chat.language)).text
        with self.database_write() as session:
            case = session.get(Case, case_id)
            assert case is not None
            _insert_answer(session, case, text, article.slug, version.number)
            for action in ("accept", "start", "answer", "resolve"):
                if action in workflow.allowed_actions(case.status):
                    workflow.apply(session, case, action, "citizen", channel="webchat",
                                   calendar=self.services.calendar,
                                   reason="answered by a help article in the chat")
            chat.case_id = case_id
            self._end(session, chat, "answered_by_article")
            audit.record(session, case_id, "citizen", "chat_self_service", "webchat",
                         article_slug=article.slug, article_version=version.number)
        self.store.wake(chat, queue=True)
        return reference

    def leave_contact(self, session_id: str, email: str, phone: str) -> LineView:
        """Nobody could take the chat: the citizen says where the reply should go."""
        chat = self.store.get(session_id)
        if chat.case_id is None or chat.status == ChatStatus.SELF_SERVICE:
            raise ChatError.citizen(409, "ask_person_first")
        email, phone = clean_text(email), clean_text(phone)
        try:
            email = normalise_email(email) if email.strip() else ""
        except ValueError:
            raise ChatError.citizen(400, "bad_email") from None
        try:
            phone = normalise_phone(phone, self.config["administration.country"]) \
                if phone.strip() else ""
        except ValueError:
            raise ChatError.citizen(400, "bad_phone") from None
        if not (email or phone):
            raise ChatError.citizen(400, "contact_missing")
        with self.services.database.read() as session:
            case = session.get(Case, chat.case_id)
            assert case is not None
        contact = InboundContact(
            channel="webchat", external_id=f"{chat.id}:contact:{email}:{phone}",
            sender=Sender(name=chat.display_name, email=email, phone=phone,
                          chat_session=chat.id),
            text=f"Please reply to {email or phone} ({case.reference}).",
            language=chat.language, automated=True, metadata={"chat_session": chat.id})
        try:
            self.services.intake.take(contact)
        except IntakeError as error:
            raise ChatError(400, str(error), phrase="not_taken") from None
        with self.database_write() as session:
            citizen = session.get(Citizen, case.citizen_id)
            if citizen is not None:
                citizen.preferred_channel = "email" if email else "sms"
                session.add(citizen)
            row = session.get(ChatSession, chat.id)
            assert row is not None
            row.contact_email, row.contact_phone = email, phone
            session.add(row)
            line = self.store.system_line(session, chat, phrases.of(chat.language)
                                          .contact_saved.format(where=email or phone))
        self.store.wake(chat)
        return line

    def email_transcript(self, session_id: str, email: str) -> str:
        """Queue the transcript for the citizen's address; returns the confirmation to show
        them, in the chat's language."""
        chat = self.store.get(session_id)
        if chat.case_id is None:
            raise ChatError.citizen(409, "nothing_to_send")
        try:
            address = normalise_email(clean_text(email))
        except ValueError:
            raise ChatError.citizen(400, "bad_email") from None
        lines = self.store.lines([chat.id])
        words = phrases.of(chat.language)
        with self.database_write() as session:
            case = session.get(Case, chat.case_id)
            assert case is not None
            sent = session.execute(select(func.count()).select_from(Message).where(
                col(Message.case_id) == case.id, col(Message.channel) == "email",
                col(Message.subject).startswith(words.transcript_subject))).scalar_one()
            if sent >= 3:
                raise ChatError.citizen(429, "transcript_limit")
            outbox.enqueue(session, case_id=chat.case_id, channel="email", recipient=address,
                           kind="notification", payload={
                               "subject": f"{words.transcript_subject} {case.reference}",
                               "text": transcript_text(lines, words.transcript_you),
                               "language": chat.language})
            audit.record(session, case.id, "citizen", "chat_transcript_requested", "webchat",
                         recipient=address)
        return words.transcript_sent

    def end_by_citizen(self, session_id: str) -> None:
        chat = self.store.get(session_id)
        if chat.status == ChatStatus.ENDED:
            return
        with self.database_write() as session:
            self._end(session, chat, "ended_by_citizen")
        self.store.wake(chat, queue=True)

    # ------------------------------------------------------------------ agent side

    def take(self, session_id: str, user: User) -> None:
        """An agent takes a waiting chat, within their chat capacity."""
        assert user.id is not None
        with self.database_write() as session:
            chat = session.get(ChatSession, session_id)
            if chat is None or chat.status != ChatStatus.QUEUED or chat.case_id is None:
                raise ChatError(409, "This chat is no longer waiting.")
            held = session.execute(select(func.count()).select_from(ChatSession).where(
                col(ChatSession.agent_user_id) == user.id,
                col(ChatSession.status) == ChatStatus.LIVE)).scalar_one()
            capacity = chat_capacity(self.config.assignment_capacity, user)
            if held >= capacity:
                raise ChatError(409, f"You already hold {held} chats (your capacity is "
                                     f"{capacity}): end one first.")
            case = session.get(Case, chat.case_id)
            assert case is not None
            self._assign(session, case, user)
            table = table_of(ChatSession)
            taken = session.connection().execute(
                sa.update(table).where(table.c.id == chat.id,
                                       table.c.status == ChatStatus.QUEUED)
                .values(status=ChatStatus.LIVE, agent_user_id=user.id, taken_at=utcnow()))
            if taken.rowcount != 1:
                raise ChatError(409, "Another agent took this chat first.")
            for action in ("accept", "start"):
                if action in workflow.allowed_actions(case.status):
                    workflow.apply(session, case, action, user.username, channel="webchat",
                                   calendar=self.services.calendar)
            chat.agent_user_id = user.id
            name = user.display_name or user.username
            self.store.system_line(session, chat, phrases.of(chat.language)
                                   .joined.format(name=name))
        self.store.wake(chat, queue=True)

    def _assign(self, session: Session, case: Case, user: User) -> None:
        if case.assigned_user_id == user.id:
            return
        if case.assigned_user_id is not None:
            raise ChatError(409, "This chat's case is held by another agent.")
        agent = next((a for a in agent_states(session, self.config)
                      if a.user_id == user.id), None)
        if agent is None:
            raise ChatError(403, "Only active agents can take chats.")
        try:
            assign(session, case, agent, user.username, ("took the chat",))
        except AssignmentError as error:
            raise ChatError(409, str(error)) from None

    def post_agent(self, session_id: str, user: User, client_id: str, text: str) -> LineView:
        """An agent's line: a Message and its outbox item, then delivered at once."""
        text = self.store.check_text(text)
        chat = self.store.get(session_id)
        if chat.status != ChatStatus.LIVE or chat.agent_user_id != user.id:
            raise ChatError(409, "You do not hold this chat.")
        outbox_id = self.queue_agent_line(chat, user, client_id, text)
        try:
            return self.transport.deliver_now(outbox_id)
        except PermanentSendError as error:  # ended meanwhile: the dispatcher marks it failed
            raise ChatError(409, f"Not delivered: {error}.") from None

    def queue_agent_line(self, chat: ChatSession, user: User, client_id: str,
                         text: str) -> int:
        """The reply and its outbox item in one transaction; a retried send (same client id)
        finds the first one's item."""
        assert chat.case_id is not None
        name = user.display_name or user.username
        external_id = f"{chat.id}:{client_id}"

        def work(session: Session) -> int:
            earlier = session.execute(
                select(OutboxItem.id).join(Message, col(Message.id) == col(OutboxItem.message_id))
                .where(col(Message.channel) == "webchat",
                       col(Message.external_id) == external_id)).scalar_one_or_none()
            if earlier is not None:
                return int(earlier)
            now = utcnow()
            message_id = self.store.insert_message(session, chat, "out", name, text, client_id,
                                                   status="queued", user_id=user.id, now=now)
            # deliver_now() sends it after this commit; the dispatcher only if that never
            # happens (the process died in between).
            outbox_id = outbox.enqueue(
                session, case_id=chat.case_id or 0, channel="webchat", recipient=chat.id,
                kind="reply", payload={"text": text, "agent_name": name, "client_id": client_id},
                message_id=message_id, now=now)
            items = table_of(OutboxItem)
            session.connection().execute(sa.update(items).where(items.c.id == outbox_id)
                                         .values(next_attempt_at=now + IMMEDIATE_GRACE))
            cases = table_of(Case)
            first = session.connection().execute(
                sa.update(cases).where(cases.c.id == chat.case_id,
                                       cases.c.first_response_at.is_(None))
                .values(first_response_at=now))
            if first.rowcount:
                audit.record(session, chat.case_id, user.username, "first_response",
                             "webchat")
            return outbox_id

        return self.services.intake.group.run(work)

    def end_by_agent(self, session_id: str, user: User) -> None:
        with self.database_write() as session:
            chat = session.get(ChatSession, session_id)
            if chat is None or chat.agent_user_id != user.id:
                raise ChatError(409, "You do not hold this chat.")
            if chat.status == ChatStatus.ENDED:
                return
            case = session.get(Case, chat.case_id)
            assert case is not None
            for action in ("answer", "resolve"):
                if action in workflow.allowed_actions(case.status):
                    workflow.apply(session, case, action, user.username, channel="webchat",
                                   calendar=self.services.calendar, reason="chat ended")
            self._end(session, chat, "ended_by_agent")
        self.store.wake(chat, queue=True)

    # ------------------------------------------------------------------ both

    def database_write(self) -> AbstractContextManager[Session]:
        return self.services.database.write()

    def _end(self, session: Session, chat: ChatSession, reason: str) -> None:
        """End the chat; its transcript goes on the case as a note with the lines."""
        table = table_of(ChatSession)
        session.connection().execute(sa.update(table).where(table.c.id == chat.id).values(
            status=ChatStatus.ENDED, ended_reason=reason, ended_at=utcnow(),
            citizen_typing_at=None, agent_typing_at=None,  # nobody types in an ended chat
            case_id=chat.case_id))  # a self-service chat's case is made as it ends
        self.store.system_line(session, chat, phrases.of(chat.language).ended)
        if chat.case_id is None:
            return
        lines = list(session.execute(select(ChatLine).where(
            col(ChatLine.session_id) == chat.id).order_by(col(ChatLine.id))).scalars())
        session.add(Message(
            case_id=chat.case_id, direction="note", channel="webchat", sender="system",
            subject="Chat transcript", text=transcript_text(lines), language=chat.language,
            delivery_status="received", created_at=utcnow(),
            details={"chat_session": chat.id, "chat_transcript": [
                {"at": line.created_at.isoformat(), "author": line.author,
                 "name": line.author_name, "text": line.text} for line in lines]}))
        audit.record(session, chat.case_id, "system", "chat_ended", "webchat",
                     chat_session=chat.id, reason=reason)


def chat_capacity(defaults: dict[str, int], user: User) -> int:
    return int({**DEFAULT_CAPACITY, **defaults, **(user.capacity or {})}.get("chat", 3))


def someone_could_take(session: Session, config: Config, case: Case) -> bool:
    """Is an agent there who could take this case's chat: available, in its department,
    handling its service, speaking its language, with any room for chats at all (and, for a
    case already held, the agent holding it)? The same rules as taking it (`why_not`), except
    the load: an agent whose chats are full now frees a slot when one ends, which is what the
    queue is for."""
    item = _work_item(case)
    return any(why_not(replace(agent, load={}), item) is None
               for agent in agent_states(session, config, case.department_id)
               if case.assigned_user_id in (None, agent.user_id))


def cannot_take(agent: AgentState, case: Case) -> str:
    """Why this agent can never take the case's chat ("" if they can, or only need to be
    available or to end a chat first)."""
    return why_not(replace(agent, presence="available", load={}), _work_item(case)) or ""


def _work_item(case: Case) -> WorkItem:
    return WorkItem(case.department_id, case.service_code, case.language, case.channel)


def _article_text(article: KbArticle, version: KbArticleVersion) -> ArticleText:
    return ArticleText(slug=article.slug, version=version.number, language=article.language,
                       title=version.title, short_answer=version.short_answer,
                       body_markdown=version.body, key_facts=tuple(version.key_facts),
                       url=f"/help/{article.language}/{article.slug}")


def _insert_answer(session: Session, case: Case, text: str, slug: str, version: int) -> None:
    session.add(Message(case_id=case.id or 0, direction="out", channel="webchat",
                        sender="knowledge base", text=text, language=case.language,
                        delivery_status="delivered", article_slug=slug,
                        article_version=version, created_at=utcnow(),
                        details={"self_service": True}))


def transcript_text(lines: list[ChatLine], you: str = "You") -> str:
    rows = []
    for line in lines:
        label = line.author_name or {"system": "-", "citizen": you}.get(line.author,
                                                                        line.author)
        rows.append(f"[{line.created_at:%Y-%m-%d %H:%M} UTC] {label}: {line.text}")
    return "\n".join(rows)
