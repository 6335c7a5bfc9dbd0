"""A call that only checks the status of the caller's own case belongs to that case: the case
opened when it rang is merged into it (the audit trail says why), so triage is not left with
an empty "Phone call" case, and no contact is lost. Signed webhooks, the real board."""

from __future__ import annotations

from flask import Flask
from sqlmodel import col, select

from caseboard import workflow
from caseboard.case_models import CaseLink
from caseboard.contacts import InboundContact, IntakeResult, Sender
from caseboard.models import AuditEvent, Case, CaseStatus
from caseboard.services import Services
from channels.phone.models import PhoneCall
from tests.channels.phone.conftest import Post, twiml
from tests.channels.phone.test_voice import (
    add_people,
    call_params,
    cases,
    messages,
    sign_in,
    spoken,
)

CALLER = "+14155550100"  # the synthetic incoming call's From


def earlier_case(services: Services) -> IntakeResult:
    return services.intake.take(InboundContact(
        channel="sms", external_id="SMearlier", sender=Sender(phone=CALLER),
        text="My bins were not collected on Elm Road"))


def keyed(reference: str) -> str:
    return reference.split("-", 1)[1].replace("-", "") + "#"  # CC-2026-000001 → 2026000001#


def audit_of(services: Services, case_id: int | None) -> list[AuditEvent]:
    with services.database.read() as session:
        return list(session.execute(select(AuditEvent).where(
            col(AuditEvent.case_id) == case_id).order_by(col(AuditEvent.id))).scalars())


def test_a_status_check_in_mandarin_leaves_no_empty_case_in_triage(
        post: Post, phone_app: Flask, phone_services: Services) -> None:
    add_people(phone_services)
    alice = sign_in(phone_app, "alice")
    own = earlier_case(phone_services)
    post("/twilio/voice", call_params())
    ring = cases(phone_services)[-1]
    assert ring.reference in alice.get("/board/triage").get_data(as_text=True)  # as it rings
    post("/twilio/voice/language", call_params(Digits="2"))
    post("/twilio/voice/choice", call_params(Digits="1"))
    said = spoken(twiml(post("/twilio/voice/reference",
                             call_params(Digits=keyed(own.reference)))))
    assert " ".join(own.reference) in said and "已转交部门" in said

    after = {case.id: case for case in cases(phone_services)}
    assert len(after) == 2  # no third case either
    assert after[ring.id].status == CaseStatus.CLOSED
    assert after[own.case_id].status == CaseStatus.DISPATCHED  # a check changes nothing
    assert ring.reference not in alice.get("/board/triage").get_data(as_text=True)
    # Every message of the call is on the caller's own case now, nothing is lost.
    assert messages(phone_services, ring.id) == []
    texts = [m.text for m in messages(phone_services, own.case_id)]
    assert texts[0] == "My bins were not collected on Elm Road"
    assert texts[1] == f"Phone call from {CALLER}"
    assert texts[2].startswith("Status check by phone")
    with phone_services.database.read() as session:
        call = session.execute(select(PhoneCall)).scalar_one()
    assert call.case_id == own.case_id  # the call's record is on that case
    merged = [e for e in audit_of(phone_services, ring.id) if e.action == "merged_into"]
    assert len(merged) == 1 and merged[0].actor == "ivr" and merged[0].channel == "phone"
    assert merged[0].details["into"] == own.reference
    assert "status check" in merged[0].details["reason"]
    assert any(e.action == "merged_from" for e in audit_of(phone_services, own.case_id))

    # Twilio retries the webhook: nothing moves twice.
    twiml(post("/twilio/voice/reference", call_params(Digits=keyed(own.reference))))
    assert len(messages(phone_services, own.case_id)) == 3
    assert len(cases(phone_services)) == 2


def test_a_status_check_does_not_reopen_a_resolved_case(post: Post,
                                                         phone_services: Services) -> None:
    own = earlier_case(phone_services)
    with phone_services.database.write() as session:
        case = session.get(Case, own.case_id)
        assert case is not None
        for action in ("accept", "start", "resolve"):
            workflow.apply(session, case, action, "alice", calendar=phone_services.calendar)
    post("/twilio/voice", call_params())
    said = spoken(twiml(post("/twilio/voice/reference",
                             call_params(Digits=keyed(own.reference)))))
    assert "resolved" in said
    statuses = {case.id: case.status for case in cases(phone_services)}
    assert statuses[own.case_id] == CaseStatus.RESOLVED
    assert sorted(statuses.values()) == [CaseStatus.CLOSED, CaseStatus.RESOLVED]


def test_a_status_check_of_a_closed_case_links_the_call_and_opens_nothing_more(
        post: Post, phone_services: Services) -> None:
    own = earlier_case(phone_services)
    with phone_services.database.write() as session:
        case = session.get(Case, own.case_id)
        assert case is not None
        for action in ("accept", "start", "resolve", "close"):
            workflow.apply(session, case, action, "alice", calendar=phone_services.calendar)
    post("/twilio/voice", call_params())
    twiml(post("/twilio/voice/reference", call_params(Digits=keyed(own.reference))))
    found = cases(phone_services)
    assert len(found) == 2  # a closed case takes no merge, and no follow-up case is opened
    ring = found[-1]
    assert [m.text.split(":")[0] for m in messages(phone_services, ring.id)] == [
        f"Phone call from {CALLER}", "Status check by phone"]
    with phone_services.database.read() as session:
        link = session.execute(select(CaseLink)).scalar_one()
    assert {link.case_id, link.other_case_id} == {own.case_id, ring.id}


def test_a_check_of_someone_elses_case_stays_on_the_calls_own_case(
        post: Post, phone_services: Services) -> None:
    own = earlier_case(phone_services)
    stranger = call_params(CallSid="CA" + "7" * 32, From="+14155550999")
    post("/twilio/voice", stranger)
    twiml(post("/twilio/voice/reference", dict(stranger, Digits=keyed(own.reference))))
    found = cases(phone_services)
    assert [c.status for c in found] == [CaseStatus.DISPATCHED, CaseStatus.NEW]
    assert len(messages(phone_services, own.case_id)) == 1  # nothing reached that case
