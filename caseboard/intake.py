"""Intake: the one door every contact comes through, whatever its channel.

In one transaction it finds or creates the citizen, threads the contact onto an open case or
opens a new one (routed, with deadlines), stores the message and its attachments, writes the
audit trail and queues the acknowledgement. The same (channel, external id) twice is one
message: a duplicate returns the first delivery's case and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from caseboard import audit, case_search, outbox, workflow
from caseboard.contacts import (
    InboundContact,
    IncomingAttachment,
    IntakeOutcome,
    IntakeResult,
    without_controls,
)
from caseboard.db import Database, connection_of, insert_returning_id, insert_rows
from caseboard.fastsql import FastQuery
from caseboard.files import FileStore
from caseboard.group_commit import GroupCommit
from caseboard.identity import (
    CitizenMatch,
    Suggestion,
    find_or_create_citizen,
    sender_identities,
)
from caseboard.models import (
    Attachment,
    Case,
    CaseStatus,
    IdentitySuggestion,
    Message,
    utcnow,
)
from caseboard.references import find_references, next_reference
from caseboard.router_training import RouterHolder
from caseboard.timelimits import BusinessCalendar, Deadlines, deadlines_for
from routing import RoutingDecision, route
from settings import Config

# Channels that can carry an acknowledgement back to the citizen, and the identity they use.
REPLY_IDENTITY = {"email": "email", "sms": "phone", "whatsapp": "phone", "webchat": "chat",
                   "letter": "address"}
# Contacts taken by staff or other systems are acknowledged where the citizen can be reached.
_FALLBACK_REPLY = (("email", "email"), ("sms", "phone"))


class IntakeError(ValueError):
    """The contact cannot be taken as it is; nothing was written."""


@dataclass(frozen=True)
class _CaseRow:
    """The few columns of an existing case that threading needs."""

    id: int
    reference: str
    status: str
    citizen_id: int


@dataclass(frozen=True)
class _Prepared:
    """What intake can work out before its write transaction: on SQLite that transaction
    holds every other writer back (other web workers, the SMTP server), so pure work done
    inside it is paid for by everyone waiting. A follow-up that joins its case pays for a
    decision and deadlines it does not use (~0.3 ms), a fair price for not holding the lock
    during them."""

    contact: InboundContact  # as it is stored: without control characters
    decision: RoutingDecision
    due: Deadlines
    promise: dt.datetime  # the first answer the acknowledgement promises
    now: dt.datetime
    identities: list[tuple[str, str]]
    terms: list[str]
    stored: list[tuple[IncomingAttachment, str]]  # every attachment and its digest
    inline: list[tuple[str, bytes]]  # the small ones, written in the transaction itself


@dataclass
class _NewCase:
    case_id: int
    reference: str
    department: str
    first_response_due: dt.datetime


class Intake:
    def __init__(self, config: Config, database: Database, router: RouterHolder,
                 calendar: BusinessCalendar, files: FileStore) -> None:
        self.config = config
        self.database = database
        self.router = router
        self.calendar = calendar
        self.files = files
        self.group = GroupCommit(database)
        self.prefix = config["administration.reference_prefix"]
        self.region = config["administration.country"]

    def take(self, contact: InboundContact) -> IntakeResult:
        """Commit the contact and say what happened; raise IntakeError for bad input."""
        prepared = self.prepare(contact)
        contact = prepared.contact  # without control characters
        try:
            # Contacts arriving at the same time share a transaction and its disk sync.
            return self.group.run(lambda s: self._take(s, contact, prepared))
        except ValueError as error:  # the contact's details are refused while storing it
            raise IntakeError(str(error)) from error

    def prepare(self, contact: InboundContact) -> _Prepared:
        """Everything worked out before the write transaction: checks, routing, deadlines,
        search terms, large attachments stored. Raises IntakeError for bad input."""
        try:
            # Before anything is stored or echoed: PostgreSQL refuses NUL (the contact would
            # be lost), and on SQLite it would reach the board and the acknowledgement.
            contact = without_controls(contact)
        except ValueError as error:  # nothing but control characters in its id or sender
            raise IntakeError(str(error)) from error
        self._check(contact)
        try:
            identities = sender_identities(contact.sender, self.region)
        except ValueError as error:  # a malformed email address or phone number
            raise IntakeError(str(error)) from error
        decision = self._route(contact)  # pure, and the costliest step of opening a case
        arrived = utcnow()
        now = contact.received_at or arrived
        stored, inline = self._store_large_files(contact.attachments)
        due = deadlines_for(self.config, self.calendar, decision.priority, decision.service, now)
        # The case's clock runs from when the contact was received, but a back-dated contact
        # (an API submission) must not be promised an answer by a time already past.
        promise = due.first_response_due if due.first_response_due > arrived else \
            deadlines_for(self.config, self.calendar, decision.priority, decision.service,
                          arrived).first_response_due
        return _Prepared(
            contact=contact, decision=decision, now=now, identities=identities,
            due=due, promise=promise,
            terms=case_search.terms(f"{contact.subject}\n{contact.text}"),
            stored=stored, inline=inline)

    def _check(self, contact: InboundContact) -> None:
        if not contact.text.strip() and not contact.attachments and not contact.subject.strip():
            raise IntakeError("the contact has no text")
        if len(contact.text) > self.config["intake.max_text_chars"]:
            raise IntakeError(f"the text is longer than {self.config['intake.max_text_chars']} "
                              "characters")
        limit = self.config["intake.max_attachment_bytes"]
        for attachment in contact.attachments:
            if len(attachment.data) > limit:
                raise IntakeError(f"attachment {attachment.filename!r} is larger than "
                                  f"{limit} bytes")
        department, service = contact.explicit_department, contact.explicit_service
        if department and self.config.department(department) is None:
            raise IntakeError(f"unknown department {department!r}")
        found = self.config.service(service) if service else None
        if service and found is None:
            raise IntakeError(f"unknown service {service!r}")
        if department and found is not None and found.department != department:
            raise IntakeError(f"service {service!r} is not in department {department!r} "
                              f"(it belongs to {found.department!r})")

    def _store_large_files(self, attachments: tuple[IncomingAttachment, ...]
                           ) -> tuple[list[tuple[IncomingAttachment, str]],
                                      list[tuple[str, bytes]]]:
        """Large attachments go to files now (synced before the transaction that points at
        them); small ones are only hashed, and written inside the transaction."""
        stored, inline = [], []
        for attachment in attachments:
            if self.files.keeps_inline(attachment.data):
                digest = self.files.digest(attachment.data)
                inline.append((digest, attachment.data))
            else:
                digest = self.files.put(attachment.data)
            stored.append((attachment, digest))
        return stored, inline

    def _route(self, contact: InboundContact) -> RoutingDecision:
        # Read per contact: a retrained model may have been swapped in since the last one.
        return route(f"{contact.subject}\n{contact.text}", self.router.current,
                     explicit_department=contact.explicit_department,
                     explicit_service=contact.explicit_service,
                     language=contact.language or None,
                     postcode=contact.sender.postcode or None)

    def _take(self, session: Session, contact: InboundContact, prepared: _Prepared
              ) -> IntakeResult:
        duplicate = _find_duplicate(session, contact)
        if duplicate is not None:
            return duplicate
        now = prepared.now
        match = find_or_create_citizen(session, contact.sender, prepared.identities,
                                       contact.channel, contact.language)
        case = self._thread(session, contact)
        events: list[dict[str, object]] = []
        new: _NewCase | None = None
        if case is not None and case.status != CaseStatus.CLOSED:
            outcome = IntakeOutcome.JOINED
            case_id, reference = self._join(session, case, contact, now, events)
        else:
            outcome = IntakeOutcome.CREATED
            parent = case.id if case is not None else None
            new = self._open(session, contact, prepared, match, parent, events)
            case_id, reference = new.case_id, new.reference
        message_id = self._store_message(session, contact, case_id, now, prepared.stored)
        self.files.put_inline(connection_of(session), prepared.inline)
        case_search.index_terms(session, case_id, prepared.terms)
        acknowledged = False
        if new is not None:
            self._suggest_identities(session, case_id, match.citizen_id, match.suggestions)
            acknowledged = self._acknowledge(session, contact, new, match.citizen_id,
                                             message_id, now, events)
        elif case is not None and match.created and match.citizen_id != case.citizen_id:
            # Someone new quotes this case (a partner, a new phone): maybe the same person.
            self._suggest_identities(session, case_id, match.citizen_id, (Suggestion(
                case.citizen_id, 90.0, f"wrote about {reference}, a case of this citizen"),))
        audit.record_all(session, events)
        return IntakeResult(outcome, reference, case_id, message_id, match.citizen_id,
                            acknowledged)

    def _thread(self, session: Session, contact: InboundContact) -> _CaseRow | None:
        """The case this contact continues: a reference it quotes, or a thread id it names."""
        connection = connection_of(session)
        for reference in find_references(f"{contact.subject}\n{contact.text}", self.prefix):
            row = _CASE_BY_REFERENCE.execute(connection, {"reference": reference}).fetchone()
            if row is not None:
                return _survivor_of(connection, _CaseRow(*row))
        if contact.thread_ids:
            row = _CASE_BY_THREAD_ID.execute(
                connection, {"thread_ids": list(contact.thread_ids)}).fetchone()
            if row is not None:
                return _survivor_of(connection, _CaseRow(*row))
        return None

    def _join(self, session: Session, case: _CaseRow, contact: InboundContact,
              now: dt.datetime, events: list[dict[str, object]]) -> tuple[int, str]:
        actor = "citizen"
        action = {CaseStatus.RESOLVED: "reopen", CaseStatus.ANSWERED: "reopen",
                  CaseStatus.WAITING_CITIZEN: "resume"}.get(CaseStatus(case.status))
        if action is not None:
            full = session.get(Case, case.id)
            assert full is not None
            reason = "the citizen replied" if action == "resume" else "follow-up from the citizen"
            workflow.apply(session, full, action, actor, calendar=self.calendar,
                           channel=contact.channel, reason=reason, now=now)
        else:
            _TOUCH_CASE.execute(connection_of(session), {"case_id": case.id, "now": now})
        events.append(audit.event(case.id, actor, "message_received", contact.channel,
                                  external_id=contact.external_id))
        return case.id, case.reference

    def _open(self, session: Session, contact: InboundContact, prepared: _Prepared,
              match: CitizenMatch, parent_case_id: int | None,
              events: list[dict[str, object]]) -> _NewCase:
        decision, due, now = prepared.decision, prepared.due, prepared.now
        triage = self.config["routing.triage_department"]
        status = CaseStatus.NEW if decision.department == triage else CaseStatus.DISPATCHED
        reference = next_reference(session, self.prefix, now.year)
        case_id = insert_returning_id(session, Case, dict(
            reference=reference, citizen_id=match.citizen_id, department_id=decision.department,
            service_code=decision.service, status=status, priority=decision.priority,
            channel=contact.channel, subject=(contact.subject or _first_line(contact.text))[:200],
            language=contact.language, routing_confidence=decision.confidence,
            routing_reasons=list(decision.reasons), parent_case_id=parent_case_id,
            return_count=0, created_at=now, updated_at=now,
            first_response_due=due.first_response_due, resolution_due=due.resolution_due,
            assigned_user_id=None, first_response_at=None, resolved_at=None, closed_at=None,
            paused_since=None,
        ))
        events.append(audit.event(case_id, "citizen", "created", contact.channel,
                                  external_id=contact.external_id, parent_case_id=parent_case_id))
        events.append(audit.event(case_id, "system", "routed", contact.channel,
                                  **decision.as_dict()))
        if status == CaseStatus.DISPATCHED:
            events.append(audit.event(case_id, "system", "dispatch", contact.channel,
                                      to="dispatched", to_department=decision.department))
        return _NewCase(case_id, reference, decision.department, prepared.promise)

    def _store_message(self, session: Session, contact: InboundContact, case_id: int,
                       now: dt.datetime, stored: list[tuple[IncomingAttachment, str]]) -> int:
        sender = contact.sender
        message_id = insert_returning_id(session, Message, dict(
            case_id=case_id, direction="in", channel=contact.channel,
            external_id=contact.external_id, thread_id=contact.own_thread_id or None,
            sender=sender.email or sender.phone or sender.chat_session or sender.name,
            subject=contact.subject, text=contact.text, language=contact.language,
            delivery_status="received", delivery_error="", details=dict(contact.metadata),
            created_at=now, author_user_id=None, article_slug=None, article_version=None,
        ))
        insert_rows(session, Attachment, [
            {"message_id": message_id, "sha256": digest, "filename": attachment.filename,
             "content_type": attachment.content_type, "size": len(attachment.data)}
            for attachment, digest in stored])
        return message_id

    def _suggest_identities(self, session: Session, case_id: int, citizen_id: int,
                            suggestions: tuple[Suggestion, ...]) -> None:
        insert_rows(session, IdentitySuggestion, [
            {"case_id": case_id, "citizen_id": citizen_id,
             "suggested_citizen_id": suggestion.citizen_id, "score": suggestion.score,
             "reason": suggestion.reason, "status": "pending", "created_at": utcnow()}
            for suggestion in suggestions])

    def _acknowledge(self, session: Session, contact: InboundContact, new: _NewCase,
                     citizen_id: int, message_id: int, now: dt.datetime,
                     events: list[dict[str, object]]) -> bool:
        """Queue "we have your message": the reference, who handles it and by when."""
        if contact.automated:
            return False
        target = _acknowledgement_target(contact)
        if target is None:
            return False
        channel, recipient = target
        if contact.ack_limit_per_hour > 0:
            recent = _RECENT_ACKNOWLEDGEMENTS.execute(connection_of(session), {
                "citizen_id": citizen_id, "channel": channel, "recipient": recipient,
                "since": now - dt.timedelta(hours=1)}).fetchone()[0]
            if recent >= contact.ack_limit_per_hour:
                events.append(audit.event(new.case_id, "system", "acknowledgement_withheld",
                                          channel, recipient=recipient,
                                          reason=f"{recent} acknowledgements to this address "
                                                 "in the last hour (loop guard)"))
                return False
        department = self.config.department(new.department)
        payload = {
            "reference": new.reference, "language": contact.language or "en",
            "citizen_name": contact.sender.name, "subject": contact.subject,
            "department": new.department,
            "department_name": dict(department.name) if department else {},
            "first_response_due": new.first_response_due.isoformat(),
            # Email threading: the acknowledgement answers the citizen's own message.
            "in_reply_to": contact.own_thread_id,
            "references": [*contact.thread_ids, contact.own_thread_id],
        }
        outbox.enqueue(session, case_id=new.case_id, channel=channel, recipient=recipient,
                       kind="acknowledgement", now=now, payload=payload)
        events.append(audit.event(new.case_id, "system", "acknowledgement_queued", channel,
                                  recipient=recipient, message_id=message_id))
        return True


def _survivor_of(connection: sa.Connection, case: _CaseRow) -> _CaseRow:
    """A merged duplicate is closed and points at its survivor: follow-ups go there."""
    for _hop in range(5):  # merges chain rarely; never loop on a bad cycle
        if case.status != CaseStatus.CLOSED:
            return case
        row = _MERGED_INTO.execute(connection, {"case_id": case.id}).fetchone()
        if row is None:
            return case
        case = _CaseRow(*row)
    return case


# The hot path's lookups, on the driver's cursor (see caseboard/fastsql.py).
_CASE_BY_REFERENCE = FastQuery(
    "SELECT id, reference, status, citizen_id FROM cases WHERE reference = :reference")
_CASE_BY_THREAD_ID = FastQuery(
    "SELECT c.id, c.reference, c.status, c.citizen_id FROM cases c"
    " JOIN message m ON m.case_id = c.id WHERE m.thread_id IN (:thread_ids)"
    " ORDER BY m.id DESC LIMIT 1")
_MERGED_INTO = FastQuery(
    "SELECT c.id, c.reference, c.status, c.citizen_id FROM case_merge m"
    " JOIN cases c ON c.id = m.target_case_id"
    " WHERE m.source_case_id = :case_id AND m.undone_at IS NULL ORDER BY m.id DESC LIMIT 1")
_TOUCH_CASE = FastQuery("UPDATE cases SET updated_at = :now WHERE id = :case_id",
                        times=("now",))
# Through the citizen's recent cases (indexed), not a scan of the whole outbox.
_RECENT_ACKNOWLEDGEMENTS = FastQuery(
    "SELECT count(*) FROM cases c JOIN outbox o ON o.case_id = c.id"
    " WHERE c.citizen_id = :citizen_id AND c.created_at >= :since"
    " AND o.kind = 'acknowledgement' AND o.channel = :channel AND o.recipient = :recipient"
    " AND o.created_at >= :since", times=("since",))
_DUPLICATE_QUERY = FastQuery(
    "SELECT m.id, m.case_id, c.reference, c.citizen_id FROM message m"
    " JOIN cases c ON c.id = m.case_id"
    " WHERE m.channel = :channel AND m.external_id = :external_id")


def _find_duplicate(session: Session, contact: InboundContact) -> IntakeResult | None:
    row = _DUPLICATE_QUERY.execute(
        connection_of(session), {"channel": contact.channel, "external_id": contact.external_id}
    ).fetchone()
    if row is None:
        return None
    message_id, case_id, reference, citizen_id = row
    return IntakeResult(IntakeOutcome.DUPLICATE, reference, case_id, message_id, citizen_id)


def _acknowledgement_target(contact: InboundContact) -> tuple[str, str] | None:
    sender = contact.sender
    values = {"email": sender.email.strip(), "phone": sender.phone.strip(),
              "chat": sender.chat_session.strip(), "address": sender.address.strip()}
    kind = REPLY_IDENTITY.get(contact.channel)
    if kind is not None:
        return (contact.channel, values[kind]) if values[kind] else None
    for channel, fallback in _FALLBACK_REPLY:
        if values[fallback]:
            return channel, values[fallback]
    return None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
