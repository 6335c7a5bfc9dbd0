"""The walk-in desk on both databases: find or create the visitor, record a walk_in case
through intake, once even when the form is sent twice."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard.models import Case, Citizen
from caseboard.services import Services
from tests.caseboard.board_case_support import (
    alice_fixture,  # noqa: F401
    form_value,
    new_case,
    people_fixture,  # noqa: F401
)

Client = FlaskClient


def _cases(services: Services) -> list[Case]:
    with services.database.read() as session:
        return list(session.execute(select(Case).where(col(Case.channel) == "walk_in")
                                    ).scalars())


def test_new_visitor_becomes_a_walk_in_case_once(services: Services, alice: Client) -> None:
    page = alice.get("/board/walk-in").get_data(as_text=True)
    data = {"csrf_token": form_value(page, "csrf_token"),
            "form_token": form_value(page, "form_token"), "name": "Ford Prefect",
            "phone": "07700 900789", "subject": "Mould", "language": "en",
            "department": "housing", "text": "Black mould in the bathroom of my flat"}
    first = alice.post("/board/walk-in", data=data)
    again = alice.post("/board/walk-in", data=data)
    assert first.status_code == again.status_code == 303
    assert first.location == again.location and "/board/case/CC-" in first.location
    cases = _cases(services)
    assert len(cases) == 1 and cases[0].department_id == "housing"
    shown = alice.get(first.location).get_data(as_text=True)
    assert "Black mould in the bathroom" in shown and "phone: +447700900789" in shown


def test_known_citizen_is_found_and_gets_the_case(services: Services, alice: Client) -> None:
    earlier = new_case(services)
    found = alice.get("/board/walk-in?q=arthur@mail.example").get_data(as_text=True)
    assert "Arthur Dent" in found
    with services.database.read() as session:
        citizen = session.execute(select(Citizen)).scalars().one()
    page = alice.get(f"/board/walk-in?citizen={citizen.id}").get_data(as_text=True)
    assert 'id="chosen-citizen">Arthur Dent' in page
    answer = alice.post("/board/walk-in", data={
        "csrf_token": form_value(page, "csrf_token"), "form_token": form_value(page, "form_token"),
        "citizen_id": str(citizen.id), "language": "en", "department": "housing",
        "text": "Asking about my repair appointment"})
    assert answer.status_code == 303
    (case,) = _cases(services)
    assert case.citizen_id == citizen.id
    shown = alice.get(answer.location).get_data(as_text=True)
    assert earlier in shown  # the citizen's earlier case is on the panel


def test_visitor_without_any_identity_or_text_is_refused(services: Services,
                                                         alice: Client) -> None:
    page = alice.get("/board/walk-in").get_data(as_text=True)
    base = {"csrf_token": form_value(page, "csrf_token"),
            "form_token": form_value(page, "form_token"), "name": "Anonymous"}
    answer = alice.post("/board/walk-in", data={**base, "text": "Help"})
    assert answer.status_code == 400
    assert "Give an email address, a phone number or a postal address" in answer.get_data(
        as_text=True)
    answer = alice.post("/board/walk-in", data={**base, "email": "x@mail.example", "text": ""})
    assert answer.status_code == 400 and "Write down what the visitor asks for" in answer.get_data(
        as_text=True)
    assert _cases(services) == []
