"""Intake on both databases: citizens, threading, de-duplication, routing, acknowledgements."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from caseboard.contacts import InboundContact, IncomingAttachment, IntakeOutcome, Sender
from caseboard.intake import IntakeError
from caseboard.models import (
    Attachment,
    AuditEvent,
    Case,
    Citizen,
    IdentitySuggestion,
    Message,
    OutboxItem,
    StoredBlob,
)
from caseboard.services import Services


def email(external_id: str, text: str, sender: str = "maria@mail.example", **kw: object
          ) -> InboundContact:
    return InboundContact("email", external_id, Sender("Maria Lopez", email=sender), text,
                          **kw)  # type: ignore[arg-type]


def count(services: Services, model: type) -> int:
    with services.database.read() as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def case_of(services: Services, reference: str) -> Case:
    with services.database.read() as session:
        return session.execute(select(Case).where(col(Case.reference) == reference)).scalar_one()


def test_new_contact_opens_a_routed_case_with_deadlines_and_acknowledgement(
        services: Services) -> None:
    result = services.intake.take(email("<m1@x>", "There is a big pothole on Mill Road",
                                        subject="Pothole"))
    assert result.outcome is IntakeOutcome.CREATED
    year = dt.datetime.now(dt.UTC).year
    assert result.reference == f"CC-{year}-000001"
    case = case_of(services, result.reference)
    assert (case.department_id, case.service_code, case.status) == ("roads", "pothole",
                                                                   "dispatched")
    assert case.first_response_due is not None and case.resolution_due is not None
    assert case.created_at < case.first_response_due < case.resolution_due
    assert any("pothole" in reason for reason in case.routing_reasons)
    with services.database.read() as session:
        item = session.execute(sa.select(OutboxItem)).scalar_one()
        actions = session.execute(select(AuditEvent.action).where(
            col(AuditEvent.case_id) == case.id).order_by(col(AuditEvent.id))).scalars().all()
    assert (item.channel, item.recipient, item.kind) == ("email", "maria@mail.example",
                                                         "acknowledgement")
    assert item.payload["reference"] == result.reference
    assert actions == ["created", "routed", "dispatch", "acknowledgement_queued"]


def test_same_external_id_twice_is_one_message(services: Services) -> None:
    first = services.intake.take(email("<dup@x>", "My bin was not collected"))
    again = services.intake.take(email("<dup@x>", "My bin was not collected"))
    assert again.outcome is IntakeOutcome.DUPLICATE
    assert (again.reference, again.message_id) == (first.reference, first.message_id)
    assert count(services, Message) == 1
    assert count(services, Case) == 1
    assert count(services, OutboxItem) == 1


def test_same_external_id_on_another_channel_is_a_new_contact(services: Services) -> None:
    services.intake.take(email("X1", "My bin was not collected"))
    other = InboundContact("sms", "X1", Sender(phone="+447700900111"), "Street light out")
    assert services.intake.take(other).outcome is IntakeOutcome.CREATED


def test_reference_in_text_joins_the_case_from_another_channel(services: Services) -> None:
    first = services.intake.take(email("<a@x>", "Street light broken outside number 4"))
    sms = InboundContact("sms", "SM1", Sender(phone="07700 900123"),
                         f"Any news on {first.reference.lower().replace('-', ' ')}?")
    joined = services.intake.take(sms)
    assert joined.outcome is IntakeOutcome.JOINED
    assert joined.reference == first.reference
    assert count(services, Case) == 1
    assert count(services, OutboxItem) == 1  # no second acknowledgement for a follow-up


def test_email_thread_ids_join_the_case(services: Services) -> None:
    first = services.intake.take(email("<orig@x>", "Noise from the bar next door every night",
                                       own_thread_id="<orig@x>"))
    reply = email("<reply@x>", "It happened again last night", thread_ids=("<orig@x>",))
    assert services.intake.take(reply).reference == first.reference


def test_one_citizen_across_channels_and_identities(services: Services) -> None:
    a = services.intake.take(email("<c1@x>", "Dog fouling in the park", sender="Li@Mail.Example"))
    b = services.intake.take(InboundContact(
        "walk_in", "desk-1", Sender("Li", email="li@mail.example", phone="07700900555"),
        "Question about my council tax bill"))
    c = services.intake.take(InboundContact("sms", "SM9", Sender(phone="+44 7700 900555"),
                                            "Also the tree outside is dangerous"))
    assert a.citizen_id == b.citizen_id == c.citizen_id
    assert count(services, Citizen) == 1


def test_letter_with_similar_name_and_postcode_is_only_a_suggestion(services: Services) -> None:
    first = services.intake.take(InboundContact(
        "letter", "sha-1", Sender("Arthur Dent", address="155 Country Lane", postcode="ct1 4ab"),
        "Damp in the bedroom"))
    second = services.intake.take(InboundContact(
        "letter", "sha-2", Sender("Arthur Dnet", address="Flat 2, 155 Country Lane",
                                  postcode="CT1 4AB"), "Mould on the walls too"))
    assert second.citizen_id != first.citizen_id  # never a silent merge
    with services.database.read() as session:
        suggestion = session.execute(sa.select(IdentitySuggestion)).scalar_one()
    assert suggestion.suggested_citizen_id == first.citizen_id
    assert suggestion.status == "pending" and "postcode" in suggestion.reason
    same = services.intake.take(InboundContact(
        "letter", "sha-3", Sender("Arthur Dent", address="155  Country Lane,",
                                  postcode="CT14AB"), "Still waiting about the damp"))
    assert same.citizen_id == first.citizen_id  # same name at the same address: same person


def test_follow_up_reopens_a_resolved_case(services: Services) -> None:
    first = services.intake.take(email("<r1@x>", "Pothole on Station Road"))
    with services.database.write() as session:
        session.execute(sa.update(Case).values(status="resolved"))
    joined = services.intake.take(email("<r2@x>", f"Re: {first.reference} it is back"))
    assert joined.outcome is IntakeOutcome.JOINED
    assert case_of(services, first.reference).status == "in_progress"


def test_follow_up_on_a_closed_case_opens_a_linked_new_case(services: Services) -> None:
    first = services.intake.take(email("<k1@x>", "Pothole on Station Road"))
    with services.database.write() as session:
        session.execute(sa.update(Case).values(status="closed"))
    later = services.intake.take(email("<k2@x>", f"About {first.reference}: another pothole"))
    assert later.outcome is IntakeOutcome.CREATED and later.reference != first.reference
    assert case_of(services, later.reference).parent_case_id == case_of(
        services, first.reference).id


def test_unsure_router_sends_the_case_to_triage(services: Services) -> None:
    result = services.intake.take(email("<t1@x>", "Hello, I have a question for you."))
    case = case_of(services, result.reference)
    assert (case.department_id, case.status) == ("triage", "new")


def test_explicit_service_wins_and_urgent_words_raise_priority(services: Services) -> None:
    result = services.intake.take(email("<e1@x>", "Water is pouring out, a burst main",
                                        explicit_service="burst-main"))
    case = case_of(services, result.reference)
    assert (case.department_id, case.service_code, case.priority) == ("water", "burst-main",
                                                                      "urgent")


def test_auto_replies_are_filed_but_never_acknowledged(services: Services) -> None:
    services.intake.take(email("<auto@x>", "I am out of the office", automated=True))
    assert count(services, Case) == 1
    assert count(services, OutboxItem) == 0


def _files_on_disk(services: Services) -> list[object]:
    return [p for p in (services.config.data_dir / "files").rglob("*") if p.is_file()]


def test_small_attachments_are_kept_once_by_hash_in_the_database(services: Services) -> None:
    data = b"%PDF-1.4 fake scan bytes"
    attachment = IncomingAttachment("scan.pdf", "application/pdf", data)
    services.intake.take(email("<f1@x>", "See the photo of the pothole",
                               attachments=(attachment,)))
    services.intake.take(email("<f2@x>", "Same photo again", attachments=(attachment,)))
    digest = hashlib.sha256(data).hexdigest()
    assert services.files.get(digest) == data
    assert count(services, Attachment) == 2
    assert count(services, StoredBlob) == 1
    assert _files_on_disk(services) == []  # no file, so no file syncs either


def test_large_attachments_are_stored_once_by_hash_as_files(services: Services) -> None:
    data = b"%PDF-1.4 " + b"x" * services.config["data.inline_max_bytes"]
    attachment = IncomingAttachment("scan.pdf", "application/pdf", data)
    services.intake.take(email("<g1@x>", "See the photo of the pothole",
                               attachments=(attachment,)))
    services.intake.take(email("<g2@x>", "Same photo again", attachments=(attachment,)))
    assert services.files.get(hashlib.sha256(data).hexdigest()) == data
    assert count(services, Attachment) == 2
    assert count(services, StoredBlob) == 0
    assert len(_files_on_disk(services)) == 1


def test_a_redelivery_with_other_bytes_stores_nothing_more(services: Services) -> None:
    """A relay that adds a header makes other bytes under the same Message-ID: the duplicate
    is recognised in the transaction, before its original is written."""
    for raw in (b"Received: by a\r\n\r\nhello", b"Received: by b\r\n\r\nhello"):
        services.intake.take(email("<same@x>", "My bin was not collected", attachments=(
            IncomingAttachment("original.eml", "message/rfc822", raw),)))
    assert count(services, StoredBlob) == 1
    assert count(services, Message) == 1


@pytest.mark.parametrize("contact, message", [
    (email("<b1@x>", "x" * 100_001), "longer than"),
    (email("<b2@x>", "   "), "no text"),
    (email("<b3@x>", "hello", explicit_department="nowhere"), "unknown department"),
    (InboundContact("sms", "SMbad", Sender(phone="not a number"), "hello"), "phone"),
    (email("<b4@x>", "hi", attachments=(IncomingAttachment("a.bin", "x", b"0" * 10_485_761),)),
     "larger than"),
])
def test_bad_contacts_are_refused_and_write_nothing(services: Services,
                                                    contact: InboundContact,
                                                    message: str) -> None:
    with pytest.raises(IntakeError, match=message):
        services.intake.take(contact)
    for model in (Case, Message, Citizen, OutboxItem, AuditEvent):
        assert count(services, model) == 0


def test_contact_without_identity_cannot_even_be_built() -> None:
    with pytest.raises(ValueError, match="identity"):
        InboundContact("email", "<x>", Sender(name="Nobody"), "hello")
    with pytest.raises(ValueError, match="channel"):
        InboundContact("fax", "1", Sender(email="a@b.example"), "hello")


def run_in_threads(count_: int, work: object) -> list[object]:
    results: list[object] = [None] * count_
    errors: list[BaseException] = []
    barrier = threading.Barrier(count_)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count_)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_concurrent_delivery_of_one_contact_gives_one_message(services: Services) -> None:
    results = run_in_threads(8, lambda i: services.intake.take(
        email("<race@x>", "Bins not collected on Elm Street", sender="race@mail.example")))
    outcomes = sorted(r.outcome.value for r in results)  # type: ignore[attr-defined]
    assert outcomes == ["created"] + ["duplicate"] * 7
    assert count(services, Message) == 1 and count(services, Case) == 1
    assert count(services, Citizen) == 1


def test_concurrent_new_cases_never_share_a_reference(services: Services) -> None:
    results = run_in_threads(12, lambda i: services.intake.take(
        email(f"<n{i}@x>", "Pothole on the high street", sender=f"p{i}@mail.example")))
    references = {r.reference for r in results}  # type: ignore[attr-defined]
    assert len(references) == 12
    year = dt.datetime.now(dt.UTC).year
    assert references == {f"CC-{year}-{n:06d}" for n in range(1, 13)}


def test_concurrent_new_citizen_on_two_channels_is_one_citizen(services: Services) -> None:
    run_in_threads(6, lambda i: services.intake.take(InboundContact(
        "sms", f"SMc{i}", Sender(phone="+447700900777"), f"Message number {i} about noise")))
    assert count(services, Citizen) == 1


def test_prepare_routes_and_checks_a_contact_but_stores_nothing(services: Services) -> None:
    # What intake works out before its transaction (bench/smtp.py --ceiling runs only this).
    prepared = services.intake.prepare(email("<p1@x>", "There is a big pothole on Mill Road"))
    assert (prepared.decision.department, prepared.decision.service) == ("roads", "pothole")
    assert prepared.now < prepared.due.first_response_due
    assert "pothole" in prepared.terms
    with pytest.raises(IntakeError, match="no text"):
        services.intake.prepare(email("<p2@x>", "   "))
    assert [count(services, model) for model in (Case, Message, Citizen, OutboxItem)] == [
        0, 0, 0, 0]
