"""One mail → one committed contact: real mail, loops, threading, bounces (both databases)."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import col, select

from caseboard import outbox
from caseboard.models import Attachment, AuditEvent, CitizenIdentity, Message
from caseboard.outbox import Dispatcher
from caseboard.services import Services
from channels.email import bounces
from channels.email.inbound import RejectedMail, handle_message
from channels.email.outbound import EmailTransport
from tests.channels.email.conftest import case_of, make_mail, messages_of, outbox_items
from tests.conftest import SHARED_DATA, require_or_skip

CONTACT = ["contact@city.example"]


def test_every_shared_mail_becomes_a_contact_or_a_report(services: Services) -> None:
    files = sorted((SHARED_DATA / "emails").glob("*.eml"))
    require_or_skip(len(files) >= 99, "the 99 shared mails are missing")
    kinds: dict[str, int] = {}
    for path in files:
        outcome = handle_message(services, path.read_bytes(), "sender@mail.example", CONTACT)
        kinds[outcome.kind] = kinds.get(outcome.kind, 0) + 1
        if outcome.kind in ("bounce", "report"):
            continue
        assert outcome.kind in ("created", "joined", "duplicate"), path.name
        case = case_of(services, outcome.reference)
        texts = [m.text for m in messages_of(services, case.id or 0) if m.direction == "in"]
        assert texts and all(t.strip() for t in texts), path.name
    assert kinds["created"] >= 60 and kinds["bounce"] >= 10 and kinds["report"] >= 3, kinds
    with services.database.read() as session:
        big5 = session.execute(select(Message).where(
            col(Message.subject) == "養樂多線上訂購")).scalar_one()
        assert big5.language == "zh"
        jp = session.execute(select(Message).where(
            col(Message.text).contains("このメールはテスト用のメールです。"))).scalar_one()
        assert jp.sender == "xxxxxxx@docomo.ne.jp"


def test_a_new_mail_opens_a_routed_case_and_queues_the_acknowledgement(
        services: Services) -> None:
    raw = make_mail(message_id="<m1@mail.example>").as_bytes()
    outcome = handle_message(services, raw, "ann@mail.example", CONTACT)
    assert outcome.kind == "created" and outcome.acknowledged
    case = case_of(services, outcome.reference)
    assert case.channel == "email" and case.subject == "Street light broken"
    [message] = messages_of(services, case.id or 0)
    assert message.external_id == "<m1@mail.example>" and message.sender == "ann@mail.example"
    with services.database.read() as session:
        names = session.execute(select(Attachment.filename).where(
            col(Attachment.message_id) == message.id)).scalars().all()
    assert names == ["original.eml"]
    [ack] = outbox_items(services)
    assert (ack.kind, ack.recipient, ack.payload["in_reply_to"]) == (
        "acknowledgement", "ann@mail.example", "<m1@mail.example>")
    again = handle_message(services, raw, "ann@mail.example", CONTACT)
    assert (again.kind, again.reference) == ("duplicate", outcome.reference)


def test_department_alias_routes_straight_there(services: Services) -> None:
    raw = make_mail("Something about my account", to="housing@city.example").as_bytes()
    outcome = handle_message(services, raw, "ann@mail.example", ["housing@city.example"])
    assert case_of(services, outcome.reference).department_id == "housing"


def test_a_reply_to_our_acknowledgement_joins_the_case(services: Services) -> None:
    first = handle_message(services, make_mail(message_id="<q1@mail.example>").as_bytes(),
                           "ann@mail.example", CONTACT)
    transport = EmailTransport(services.config, services.database)
    Dispatcher(services.database, 3, {"email": transport}).send_one()
    [ack] = [m for m in messages_of(services, case_of(services, first.reference).id or 0)
             if m.direction == "out"]
    assert ack.thread_id and ack.delivery_status == "sent"
    # The citizen's mail program drops the reference from the subject; In-Reply-To remains.
    reply = make_mail("Still dark tonight.\n\nOn Monday you wrote:\n> We have received",
                      subject="Re: light", message_id="<q2@mail.example>",
                      In_Reply_To=ack.thread_id, References=f"<q1@mail.example> {ack.thread_id}")
    joined = handle_message(services, reply.as_bytes(), "ann@mail.example", CONTACT)
    assert (joined.kind, joined.reference) == ("joined", first.reference)
    last = messages_of(services, case_of(services, first.reference).id or 0)[-1]
    assert last.text.startswith("Still dark tonight.") and "> We have received" in last.text
    assert last.details["email"]["reply_chars"] == len("Still dark tonight.")


def test_the_reference_in_the_subject_joins_the_case(services: Services) -> None:
    first = handle_message(services, make_mail().as_bytes(), "ann@mail.example", CONTACT)
    again = handle_message(services, make_mail("More detail", subject=f"[{first.reference}]"
                                               ).as_bytes(), "ann@mail.example", CONTACT)
    assert (again.kind, again.reference) == ("joined", first.reference)


@pytest.mark.parametrize("headers, sender", [
    ({"Auto_Submitted": "auto-replied"}, "ann@mail.example"),
    ({"Precedence": "bulk"}, "ann@mail.example"),
    ({"List_Id": "<news.mail.example>"}, "ann@mail.example"),
    ({"X_Autoreply": "yes"}, "ann@mail.example"),
    ({}, "MAILER-DAEMON@mail.example"),
])
def test_machine_mail_is_filed_without_an_acknowledgement(
        services: Services, headers: dict[str, str], sender: str) -> None:
    raw = make_mail("I am out of the office", subject="Out of office", sender=sender,
                    **headers).as_bytes()
    outcome = handle_message(services, raw, sender, CONTACT)
    assert outcome.kind == "created" and not outcome.acknowledged
    assert outbox_items(services) == []


def test_acknowledgements_to_one_sender_are_limited_per_hour(services: Services) -> None:
    limit = services.config["smtp.ack_limit_per_hour"]
    now = dt.datetime.now(dt.UTC)
    outcomes = [handle_message(services, make_mail(f"Problem number {i}").as_bytes(),
                               "ann@mail.example", CONTACT, received_at=now)
                for i in range(limit + 2)]
    assert [o.acknowledged for o in outcomes] == [True] * limit + [False, False]
    assert all(o.kind == "created" for o in outcomes)
    assert len(outbox_items(services)) == limit
    # The case trail says why the citizen got no acknowledgement.
    with services.database.read() as session:
        withheld = session.exec(select(AuditEvent).where(
            AuditEvent.action == "acknowledgement_withheld")).all()
    assert len(withheld) == 2
    assert withheld[0].details["recipient"] == "ann@mail.example"
    assert "loop guard" in withheld[0].details["reason"]


def test_the_limit_holds_for_mails_arriving_at_the_same_moment(services: Services) -> None:
    """Counted in the write transaction: mails that share a group commit cannot all see
    "under the limit" and all be answered (a loop between two auto-responders)."""
    limit = services.config["smtp.ack_limit_per_hour"]
    mails = [make_mail(f"Loop message {i}").as_bytes() for i in range(limit + 6)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(
            lambda raw: handle_message(services, raw, "loop@mail.example", CONTACT), mails))
    assert all(o.kind == "created" for o in outcomes)
    assert sum(o.acknowledged for o in outcomes) == limit
    assert len(outbox_items(services)) == limit


def bounced_ack(services: Services, address: str) -> str:
    """A new case from the address, its acknowledgement sent, and a hard bounce for it."""
    first = handle_message(services, make_mail(sender=address).as_bytes(), address, CONTACT)
    send_all(services)
    case_id = case_of(services, first.reference).id or 0
    [ack] = [m for m in messages_of(services, case_id) if m.direction == "out"]
    outcome = handle_message(services, dsn(ack.thread_id or "", address), "", CONTACT)
    assert (outcome.kind, outcome.reference) == ("bounce", first.reference)
    return first.reference


def send_all(services: Services) -> None:
    transport = EmailTransport(services.config, services.database)  # .eml files: accepted
    while Dispatcher(services.database, 3, {"email": transport}).send_one():
        pass


def bouncing(services: Services, address: str) -> bool:
    with services.database.read() as session:
        return bounces.is_bouncing(session, address)


def test_a_bounce_marks_our_message_failed_and_the_address_bouncing(
        services: Services) -> None:
    reference = bounced_ack(services, "gone@mail.example")
    case_id = case_of(services, reference).id or 0
    [ack] = [m for m in messages_of(services, case_id) if m.direction == "out"]
    assert ack.delivery_status == "failed" and "5.1.1" in ack.delivery_error
    assert "mailbox does not exist" in ack.delivery_error
    [item] = outbox_items(services)
    assert item.status == "failed" and "5.1.1" in item.last_error
    assert bouncing(services, "gone@mail.example")
    assert not bouncing(services, "ann@mail.example")
    with services.database.read() as session:
        kinds = session.execute(select(CitizenIdentity.kind).where(
            col(CitizenIdentity.value) == "gone@mail.example")).scalars().all()
    assert kinds == ["email"]  # the mark is not a way to reach the citizen
    assert len(messages_of(services, case_id)) == 2  # the bounce made no message or case


def test_the_citizen_writing_again_from_the_address_clears_the_mark(
        services: Services) -> None:
    bounced_ack(services, "gone@mail.example")
    # The citizen writes again from the address: it works after all (a full mailbox emptied).
    second = handle_message(services, make_mail("My bin was not emptied", subject="Bin",
                                                sender="gone@mail.example").as_bytes(),
                            "gone@mail.example", CONTACT)
    assert second.kind == "created"
    assert not bouncing(services, "gone@mail.example")
    send_all(services)
    assert [i.status for i in outbox_items(services)] == ["failed", "sent"]  # acknowledged


def test_no_automatic_mail_goes_to_a_bouncing_address(
        services: Services) -> None:
    reference = bounced_ack(services, "gone@mail.example")
    case_id = case_of(services, reference).id or 0
    with services.database.write() as session:
        outbox.enqueue(session, case_id=case_id, channel="email",
                       recipient="gone@mail.example", kind="notification",
                       payload={"text": "Your case is closed.", "subject": "Closed"})
    send_all(services)
    notice = outbox_items(services)[-1]
    assert notice.status == "failed" and "bounces" in notice.last_error
    assert bouncing(services, "gone@mail.example")  # a held mail proves nothing either way


def test_a_later_mail_accepted_for_the_address_clears_the_mark(services: Services) -> None:
    reference = bounced_ack(services, "gone@mail.example")
    case_id = case_of(services, reference).id or 0
    with services.database.write() as session:  # an agent's reply still goes out
        reply = Message(case_id=case_id, direction="out", channel="email",
                        text="We found your new address.", delivery_status="queued")
        session.add(reply)
        session.flush()
        outbox.enqueue(session, case_id=case_id, channel="email",
                       recipient="gone@mail.example", kind="reply", message_id=reply.id,
                       payload={"text": "We found your new address.", "subject": "Bin"})
    send_all(services)
    assert outbox_items(services)[-1].status == "sent"
    assert not bouncing(services, "gone@mail.example")


def test_a_bounce_naming_no_mail_of_ours_marks_nothing(services: Services) -> None:
    handle_message(services, make_mail(sender="ann@mail.example").as_bytes(),
                   "ann@mail.example", CONTACT)
    outcome = handle_message(services, dsn("<forged@elsewhere.example>", "ann@mail.example"),
                             "", CONTACT)
    assert outcome.kind == "bounce" and outcome.reference == ""
    assert not bouncing(services, "ann@mail.example")


def dsn(original_id: str, recipient: str) -> bytes:
    return (
        "From: MAILER-DAEMON@relay.mail.example\r\nTo: contact@city.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.mail.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 mailbox does not exist\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_id}\r\nSubject: [CC] We have received your message\r\n"
        "--B--\r\n").encode()


def test_a_mail_without_any_sender_is_refused(services: Services) -> None:
    raw = b"Subject: who am I\r\n\r\nno From header\r\n"
    with pytest.raises(RejectedMail) as caught:
        handle_message(services, raw, "", CONTACT)
    assert caught.value.code == 550 and "sender" in caught.value.reason


def stored(services: Services, message_id: int | None) -> dict[str, int]:
    with services.database.read() as session:
        rows = session.execute(select(Attachment).where(
            col(Attachment.message_id) == message_id)).scalars().all()
    return {a.filename: a.size for a in rows}


def test_nul_bytes_in_headers_and_an_8bit_body_are_stored_without_them(
        services: Services) -> None:
    raw = (b"From: Ann\x00 Citizen <ann@mail.example>\r\nTo: contact@city.example\r\n"
           b"Subject: bin\x00 not emptied\r\nMessage-ID: <nul\x00one@mail.example>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
           b"\r\nMy bin\x00 was not emptied on Tuesday.\r\n")
    outcome = handle_message(services, raw, "ann@mail.example", CONTACT)
    assert outcome.kind == "created"  # PostgreSQL refuses NUL in text: it must not get there
    case = case_of(services, outcome.reference)
    [message] = messages_of(services, case.id or 0)
    for value in (message.subject, message.text, message.external_id or "", case.subject,
                  str(message.details)):
        assert "\x00" not in value
    assert "was not emptied" in message.text and "not emptied" in message.subject
    assert stored(services, message.id)["original.eml"] == len(raw)  # kept as it came


def test_a_100_kb_folded_header_is_stored_cut_to_size(services: Services) -> None:
    subject = b"\r\n ".join([b"The street light is broken"] + [b"x" * 900] * 112)
    references = b"\r\n ".join(b"<r%d@mail.example>" % i for i in range(5000))
    assert len(subject) > 100_000 and len(references) > 100_000
    raw = (b"From: ann@mail.example\r\nTo: contact@city.example\r\nSubject: " + subject +
           b"\r\nReferences: " + references + b"\r\n\r\nIt has been dark for a week.\r\n")
    outcome = handle_message(services, raw, "ann@mail.example", CONTACT)
    assert outcome.kind == "created"
    case = case_of(services, outcome.reference)
    [message] = messages_of(services, case.id or 0)
    assert message.subject.startswith("The street light is broken")
    assert len(message.subject) <= 998 and len(case.subject) <= 200
    assert len(message.details["email"]["references"]) <= 10
    assert stored(services, message.id)["original.eml"] == len(raw)


def test_nested_enclosed_mail_is_not_stored_over_and_over(services: Services) -> None:
    inner = make_mail("the photo", subject="level 0")
    inner.add_attachment(b"\x89PNG" + bytes(range(256)) * 1200, maintype="image",
                         subtype="png", filename="photo.png")
    for level in range(1, 8):
        outer = make_mail(f"forwarded {level}", subject=f"level {level}")
        outer.add_attachment(inner)
        inner = outer
    raw = inner.as_bytes()
    outcome = handle_message(services, raw, "ann@mail.example", CONTACT)
    case = case_of(services, outcome.reference)
    [message] = messages_of(services, case.id or 0)
    sizes = stored(services, message.id)
    assert sizes["original.eml"] == len(raw)
    assert sum(sizes.values()) <= 2 * len(raw)  # seven .eml levels would be ~4x
    assert "more room than the mail itself" in message.text
