"""Numbers in URLs that no database id can be are 404 Not Found, not a 500 (both databases)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from caseboard.services import Services
from tests.caseboard.board_case_support import add_people, form_value, new_case, sign_in

TOO_BIG = "99999999999999999999999"  # beyond 2**63: OverflowError in SQLite's driver
PG_TOO_BIG = str(2**31)  # PostgreSQL: "integer out of range" against an INTEGER id column
LARGEST = str(2**31 - 1)  # still an id, so the views answer for themselves


@pytest.fixture
def alice(app: Flask, services: Services) -> FlaskClient:
    add_people(services)
    return sign_in(app, "alice")


def csrf(client: FlaskClient) -> dict[str, str]:
    return {"csrf_token": form_value(client.get("/board/reminders").get_data(as_text=True),
                                     "csrf_token")}


@pytest.mark.parametrize("number", [TOO_BIG, PG_TOO_BIG, str(2**63), "9" * 5000])
def test_a_huge_number_in_a_page_address_is_not_found(alice: FlaskClient, number: str) -> None:
    answer = alice.get(f"/board/letters/text/{number}")
    assert answer.status_code == 404


@pytest.mark.parametrize("number, expected", [
    (TOO_BIG, {404}), (PG_TOO_BIG, {404}),
    (LARGEST, {303, 400, 404}),  # each view's own answer to an id that does not exist
])
def test_a_huge_number_in_a_form_address_is_not_found(app: Flask, services: Services,
                                                      alice: FlaskClient, number: str,
                                                      expected: set[int]) -> None:
    token = csrf(alice)
    assert alice.post(f"/board/reminders/{number}/read", data=token).status_code == 404
    reference = new_case(services)
    answer = alice.post(f"/board/case/{reference}/identity/{number}", data=token)
    assert answer.status_code in expected
    answer = alice.post(f"/board/case/{reference}/merge/{number}/undo", data=token)
    assert answer.status_code in expected
    bob = sign_in(app, "bob")
    answer = bob.post(f"/supervisor/alerts/{number}/resolve", data=csrf(bob))
    assert answer.status_code in expected
    answer = bob.post(f"/supervisor/extensions/{number}", data={**csrf(bob), "decision": "grant"})
    assert answer.status_code in expected


def test_ordinary_numbers_still_reach_their_pages(alice: FlaskClient) -> None:
    answer = alice.get("/board/letters/text/1")
    assert answer.status_code == 404  # the view's own 404: there is no letter 1
    assert b"There is no scanned letter with this number." in answer.data
