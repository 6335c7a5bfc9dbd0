"""Merging duplicate cases and undoing it, linking related cases, and confirming or rejecting
a suggested identity match, from the case page on both databases."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard import outbox
from caseboard.case_models import CaseLink
from caseboard.contacts import InboundContact, Sender
from caseboard.models import AuditEvent, Case, CitizenIdentity, IdentitySuggestion, Message
from caseboard.services import Services
from tests.caseboard.board_case_support import (
    alice_fixture,  # noqa: F401
    case_row,
    form_value,
    new_case,
    people_fixture,  # noqa: F401
    signed_fixture,  # noqa: F401
)

Client = FlaskClient


def _post(client: Client, reference: str, path: str, **data: str) -> tuple[int, str]:
    page = client.get(f"/board/case/{reference}").get_data(as_text=True)
    answer = client.post(f"/board/case/{reference}/{path}",
                         data={"csrf_token": form_value(page, "csrf_token"), **data})
    return answer.status_code, answer.get_data(as_text=True)


def _texts(services: Services, reference: str) -> list[str]:
    case = case_row(services, reference)
    with services.database.read() as session:
        return list(session.execute(select(Message.text).where(
            col(Message.case_id) == case.id, col(Message.direction) == "in")
            .order_by(col(Message.id))).scalars())


def test_merge_moves_messages_and_undo_puts_them_back(services: Services,
                                                      alice: Client) -> None:
    survivor = new_case(services)
    duplicate = new_case(services, external_id="<dup@x>", text="Mould again, second email",
                         subject="Mould (again)")
    dup_case = case_row(services, duplicate)
    with services.database.write() as session:  # a reply already sent on the duplicate
        reply = Message(case_id=dup_case.id or 0, direction="out", channel="email",
                        text="We are on it", delivery_status="failed",
                        delivery_error="550 mailbox full")
        session.add(reply)
        session.flush()
        outbox.enqueue(session, case_id=dup_case.id or 0, channel="email",
                       recipient="arthur@mail.example", kind="reply",
                       payload={"text": "We are on it"}, message_id=reply.id)
    assert _post(alice, duplicate, "merge", into=survivor)[0] == 303
    assert _texts(services, duplicate) == []
    shown = alice.get(f"/board/case/{survivor}").get_data(as_text=True)
    assert "550 mailbox full" in shown and "outbox pending" in shown
    assert "Mould again, second email" in _texts(services, survivor)
    assert case_row(services, duplicate).status == "closed"
    page = alice.get(f"/board/case/{duplicate}").get_data(as_text=True)
    assert f"Merged into <a href=\"/board/case/{survivor}\">{survivor}</a>" in page
    page = alice.get(f"/board/case/{survivor}").get_data(as_text=True)
    assert "Mould again, second email" in page and "Undo merge" in page
    merge_id = page.split(f"/board/case/{survivor}/merge/")[1].split("/undo")[0]
    assert _post(alice, survivor, f"merge/{merge_id}/undo")[0] == 303
    assert _texts(services, duplicate) == ["Mould again, second email"]
    assert case_row(services, duplicate).status == "dispatched"
    status, page = _post(alice, survivor, f"merge/{merge_id}/undo")
    assert status == 400 and "that merge is not on this case" not in page
    assert "already undone" in page
    with services.database.read() as session:
        actions = session.execute(select(AuditEvent.action).where(
            col(AuditEvent.actor) == "alice")).scalars().all()
    assert set(actions) >= {"merged_into", "merged_from", "merge_undone"}


def test_merge_refuses_itself_and_foreign_cases(services: Services,
                                                signed: Callable[[str], Client]) -> None:
    alice = signed("alice")
    case = new_case(services)
    roads = new_case(services, external_id="<road@x>", email="ford@mail.example",
                     text="pothole on Mill Road", subject="Pothole", department="roads")
    status, page = _post(alice, case, "merge", into=case)
    assert status == 400 and "cannot be merged into itself" in page
    status, _ = _post(alice, case, "merge", into=roads)
    assert status == 403  # alice may not touch the roads case
    assert case_row(services, case).status == "dispatched"


def test_link_and_unlink_related_cases(services: Services, alice: Client) -> None:
    one = new_case(services)
    two = new_case(services, external_id="<two@x>", email="trillian@mail.example",
                   text="Mould in the flat next door too", subject="Neighbour's mould")
    assert _post(alice, one, "link", other=two)[0] == 303
    status, page = _post(alice, two, "link", other=one)
    assert status == 400 and "already linked" in page
    page = alice.get(f"/board/case/{two}").get_data(as_text=True)
    assert f'href="/board/case/{one}">{one}</a>' in page
    assert _post(alice, two, "link", other=one, unlink="1")[0] == 303
    with services.database.read() as session:
        assert session.execute(select(CaseLink)).first() is None
    status, page = _post(alice, one, "link", other="CC-2026-999999")
    assert status == 400 and "there is no case CC-2026-999999" in page


def test_identity_suggestion_confirm_moves_the_citizen(services: Services,
                                                       alice: Client) -> None:
    first = services.intake.take(InboundContact(
        "letter", "letter-1", Sender("Arthur Dent", address="155 Country Lane",
                                     postcode="CT1 4AB"), "Mould in my flat", language="en",
        explicit_department="housing"))
    second = services.intake.take(InboundContact(
        "email", "<arthur2@x>", Sender("Arthur Dent", email="a.dent@mail.example",
                                       postcode="CT1 4AB"), "Still mould", language="en",
        explicit_department="housing"))
    with services.database.read() as session:
        suggestions = session.execute(select(IdentitySuggestion)).scalars().all()
    if not suggestions:  # intake only suggests when the name and postcode match closely
        with services.database.write() as session:
            session.add(IdentitySuggestion(case_id=second.case_id, citizen_id=second.citizen_id,
                                           suggested_citizen_id=first.citizen_id, score=97,
                                           reason="same name and postcode"))
        with services.database.read() as session:
            suggestions = session.execute(select(IdentitySuggestion)).scalars().all()
    suggestion = suggestions[0]
    page = alice.get(f"/board/case/{second.reference}").get_data(as_text=True)
    assert "Possibly the same person as" in page
    status, _ = _post(alice, second.reference, f"identity/{suggestion.id}", decision="confirm")
    assert status == 303
    with services.database.read() as session:
        moved = session.get(Case, suggestion.case_id)
        identities = session.execute(select(CitizenIdentity.kind).where(
            col(CitizenIdentity.citizen_id) == suggestion.suggested_citizen_id)).scalars().all()
        decided = session.get(IdentitySuggestion, suggestion.id)
    assert moved is not None and moved.citizen_id == suggestion.suggested_citizen_id
    assert "email" in identities and decided is not None and decided.status == "confirmed"
    status, page = _post(alice, second.reference, f"identity/{suggestion.id}", decision="reject")
    assert status == 400 and "not open on this case" in page


def test_a_follow_up_quoting_a_merged_case_joins_its_survivor(services: Services,
                                                               alice: Client) -> None:
    survivor = new_case(services)
    duplicate = new_case(services, external_id="<dup2@x>", text="Mould, written again",
                         subject="Mould (again)")
    assert _post(alice, duplicate, "merge", into=survivor)[0] == 303
    follow_up = services.intake.take(InboundContact(
        "email", "<later@x>", Sender("Arthur Dent", email="arthur@mail.example"),
        f"Any news on {duplicate}? The mould is spreading.", language="en"))
    assert (follow_up.outcome, follow_up.reference) == ("joined", survivor)
    assert "The mould is spreading." in " ".join(_texts(services, survivor))
    # once the merge is undone, the duplicate is a case of its own again
    page = alice.get(f"/board/case/{survivor}").get_data(as_text=True)
    merge_id = page.split(f"/board/case/{survivor}/merge/")[1].split("/undo")[0]
    assert _post(alice, survivor, f"merge/{merge_id}/undo")[0] == 303
    again = services.intake.take(InboundContact(
        "email", "<later2@x>", Sender("Arthur Dent", email="arthur@mail.example"),
        f"Still waiting on {duplicate}.", language="en"))
    assert (again.outcome, again.reference) == ("joined", duplicate)
