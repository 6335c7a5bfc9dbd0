"""JSON API v1 on both databases: contacts, cases, departments; tokens, roles and bad input."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from caseboard import auth
from caseboard.models import AuditEvent, Case, Citizen, Message, OutboxItem
from caseboard.services import Services

Headers = Callable[[str], dict[str, str]]
NOW = dt.datetime.now(dt.UTC)


def contact(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {"channel": "walk_in", "external_id": "desk-1",
                               "sender": {"name": "Ana", "email": "ana@mail.example"},
                               "text": "The street light outside number 9 is out"}
    body.update(overrides)
    return body


def rows(services: Services) -> int:
    with services.database.read() as session:
        return sum(int(session.execute(sa.select(sa.func.count()).select_from(m)).scalar_one())
                   for m in (Case, Message, Citizen, AuditEvent))


def test_post_contact_creates_then_reports_duplicate(client: FlaskClient,
                                                     token_for: Headers) -> None:
    headers = token_for("intake")
    first = client.post("/api/v1/contacts", json=contact(), headers=headers)
    assert first.status_code == 201
    assert first.json["outcome"] == "created"
    assert first.json["reference"].startswith("CC-")
    again = client.post("/api/v1/contacts", json=contact(), headers=headers)
    assert again.status_code == 200
    assert again.json == {"reference": first.json["reference"], "outcome": "duplicate"}
    follow = client.post("/api/v1/contacts", headers=headers, json=contact(
        external_id="desk-2", channel="phone", sender={"phone": "+447700900001"},
        text=f"calling about {first.json['reference']}"))
    assert follow.json == {"reference": first.json["reference"], "outcome": "joined"}


def test_minimal_contact_needs_only_channel_identity_and_text(client: FlaskClient,
                                                              token_for: Headers) -> None:
    response = client.post("/api/v1/contacts", headers=token_for("agent"), json={
        "channel": "api", "sender": {"phone": "07700 900002"}, "text": "bins not emptied"})
    assert response.status_code == 201


@pytest.mark.parametrize("given, stored", [
    ("zh", "zh"), ("ZH-cn", "zh"), ("en-GB", "en"), ("auto", ""), ("", "")])
def test_supported_languages_are_stored_as_our_codes(client: FlaskClient, token_for: Headers,
                                                     services: Services, given: str,
                                                     stored: str) -> None:
    response = client.post("/api/v1/contacts", headers=token_for("intake"),
                           json=contact(language=given))
    assert response.status_code == 201, response.json
    with services.database.read() as session:
        case = session.execute(sa.select(Case)).scalar_one()
        citizen = session.execute(sa.select(Citizen)).scalar_one()
    assert (case.language, citizen.preferred_language) == (stored, stored)


def test_channels_get_the_identity_they_answer_on(client: FlaskClient,
                                                   token_for: Headers,
                                                   services: Services) -> None:
    headers = token_for("intake")
    for number, body in enumerate((
            contact(channel="sms", sender={"phone": "+447700900001"}),
            contact(channel="whatsapp", sender={"phone": "+447700900002"}),
            contact(channel="email"),
            contact(channel="letter", sender={"address": "1 Elm Street, Example"}))):
        body["external_id"] = f"id-{number}"
        response = client.post("/api/v1/contacts", headers=headers, json=body)
        assert response.status_code == 201, response.json
    with services.database.read() as session:
        acks = sorted(session.execute(sa.select(OutboxItem)).scalars(), key=lambda o: o.id or 0)
    assert [(a.channel, a.recipient) for a in acks] == [
        ("sms", "+447700900001"), ("whatsapp", "+447700900002"),
        ("email", "ana@mail.example"), ("letter", "1 Elm Street, Example")]


def test_list_and_filter_cases(client: FlaskClient, token_for: Headers) -> None:
    intake = token_for("intake")
    client.post("/api/v1/contacts", headers=intake, json=contact())
    client.post("/api/v1/contacts", headers=intake, json=contact(
        external_id="desk-9", channel="web",
        text="Missed bin collection on Friday, bins not emptied"))
    agent = token_for("agent")
    everything = client.get("/api/v1/cases", headers=agent).json
    assert everything["total"] == 2 and everything["page"] == 1
    first = everything["cases"][0]
    assert set(first) == {"reference", "status", "department", "service", "priority",
                          "channel", "subject", "created_at"}
    roads = client.get("/api/v1/cases?department=roads", headers=agent).json
    assert [c["service"] for c in roads["cases"]] == ["street-light"]
    web = client.get("/api/v1/cases?channel=web&status=dispatched", headers=agent).json
    assert [c["department"] for c in web["cases"]] == ["waste"]
    found = client.get("/api/v1/cases?q=number 9", headers=agent).json
    assert found["total"] == 1 and found["cases"][0]["department"] == "roads"
    assert client.get("/api/v1/cases?page=2", headers=agent).json["cases"] == []


def test_case_detail_has_citizen_messages_and_audit(client: FlaskClient,
                                                    token_for: Headers) -> None:
    reference = client.post("/api/v1/contacts", headers=token_for("intake"),
                            json=contact()).json["reference"]
    detail = client.get(f"/api/v1/cases/{reference}", headers=token_for("supervisor")).json
    assert detail["reference"] == reference
    assert detail["citizen"]["name"] == "Ana"
    assert {"kind": "email", "value": "ana@mail.example"} in detail["citizen"]["identities"]
    assert [(m["direction"], m["channel"]) for m in detail["messages"]] == [("in", "walk_in")]
    assert detail["messages"][0]["text"].startswith("The street light")
    assert [a["action"] for a in detail["audit"]][:2] == ["created", "routed"]
    missing = client.get("/api/v1/cases/CC-1999-000001", headers=token_for("agent"))
    assert missing.status_code == 404 and "CC-1999-000001" in missing.json["message"]


def test_departments_lists_the_demo_administration(client: FlaskClient,
                                                   token_for: Headers) -> None:
    departments = client.get("/api/v1/departments", headers=token_for("agent")).json
    ids = {d["id"] for d in departments["departments"]}
    assert ids == {"triage", "waste", "roads", "parking", "housing", "revenue", "licensing",
                   "environment", "parks", "water", "social", "registry"}
    housing = next(d for d in departments["departments"] if d["id"] == "housing")
    assert housing["name_zh"] and {"damp-mould", "rent"} <= {s["code"] for s in
                                                             housing["services"]}


def test_tokens_and_roles(client: FlaskClient, token_for: Headers, services: Services) -> None:
    assert client.get("/api/v1/cases").status_code == 401
    assert client.get("/api/v1/cases", headers={"Authorization": "Basic abc"}).status_code == 401
    forged = client.get("/api/v1/cases", headers={"Authorization": "Bearer cc_forged"})
    assert forged.status_code == 401 and "invalid" in forged.json["message"]
    intake_only = client.get("/api/v1/cases", headers=token_for("intake"))
    assert intake_only.status_code == 403 and "intake" in intake_only.json["message"]
    with services.database.write() as session:
        expired = auth.create_token(session, "old", "admin", dt.timedelta(seconds=-1))
    response = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401


@pytest.mark.parametrize("body, message", [
    ({"channel": "walk_in"}, "sender"),
    (contact(sender={"name": "No Identity"}), "at least an email"),
    (contact(colour="blue"), "unknown field(s): colour"),
    (contact(sender={"email": "a@b.example", "shoe": "9"}), "unknown sender field"),
    (contact(channel="pigeon"), "channel must be one of"),
    (contact(text=""), "text is required"),
    (contact(text=42), "text must be a string"),
    (contact(department="nowhere"), "unknown department"),
    (contact(service="teleport"), "unknown service"),
    (contact(sender={"phone": "call me maybe"}), "phone"),
    (contact(sender={"email": "not-an-email"}), "email"),
    (contact(received_at="yesterday"), "ISO 8601"),
    (contact(text="x" * 200_000), "longer than"),
    (contact(department="housing", service="pothole"),
     "service 'pothole' is not in department 'housing'"),
    (contact(language="klingon"), "language must be one of en, zh"),
    (contact(language="fr"), "language must be one of en, zh"),
    (contact(language="en us"), "language must be one of en, zh"),
    (contact(channel="sms"), "channel 'sms' needs sender.phone"),
    (contact(channel="whatsapp"), "channel 'whatsapp' needs sender.phone"),
    (contact(channel="email", sender={"phone": "+447700900001"}),
     "channel 'email' needs sender.email"),
    (contact(channel="letter"), "channel 'letter' needs sender.address"),
    (contact(channel="webchat"), "chat widget"),
    (contact(received_at="0001-01-01T00:00:00+00:00"), "received_at must be within the last 30"),
    (contact(received_at="0001-01-01T00:00:00+14:00"), "received_at must be within the last 30"),
    (contact(received_at="1970-01-01T00:00:00+14:00"), "received_at must be within the last 30"),
    (contact(received_at=(NOW - dt.timedelta(days=31)).isoformat()), "within the last 30 days"),
    (contact(received_at="9999-12-31T23:59:59-14:00"), "received_at"),
    (contact(received_at=(NOW + dt.timedelta(hours=1)).isoformat()), "in the future"),
    (contact(received_at=20260101), "ISO 8601"),
    (contact(external_id="x" * 256), "external_id is longer than 255 characters"),
    (contact(subject="s" * 1001), "subject is longer than 1000 characters"),
    (contact(sender={"email": "a" * 310 + "@mail.example"}),
     "sender.email is longer than 320 characters"),
    (contact(sender={"email": "ana@mail.example", "name": "N" * 201}),
     "sender.name is longer than 200 characters"),
    (contact(sender={"phone": "0" * 65}), "sender.phone is longer than 64 characters"),
    (contact(channel="letter", sender={"address": "Elm Street " * 100}),
     "sender.address is longer than 1000 characters"),
    (contact(sender={"email": "ana@mail.example", "postcode": "EX1 2BD" * 3}),
     "sender.postcode is longer than 20 characters"),
])
def test_bad_contacts_get_400_and_write_nothing(client: FlaskClient, token_for: Headers,
                                                services: Services, body: dict[str, object],
                                                message: str) -> None:
    headers = token_for("intake")
    before = rows(services)
    response = client.post("/api/v1/contacts", json=body, headers=headers)
    assert response.status_code == 400, response.json
    assert message in response.json["message"]
    assert rows(services) == before


def test_invalid_json_and_oversize_bodies(client: FlaskClient, token_for: Headers,
                                          services: Services) -> None:
    headers = token_for("intake")
    broken = client.post("/api/v1/contacts", data="{not json", headers=headers,
                         content_type="application/json")
    assert broken.status_code == 400 and "JSON" in broken.json["message"]
    not_object = client.post("/api/v1/contacts", json=[1, 2], headers=headers)
    assert not_object.status_code == 400
    huge = client.post("/api/v1/contacts", json=contact(text="x" * 5_000_000), headers=headers)
    assert huge.status_code == 413 and huge.is_json
    assert rows(services) == 0


@pytest.mark.parametrize("query, message", [
    ("department=nowhere", "unknown department"),
    ("status=sleeping", "unknown status"),
    ("channel=fax", "unknown channel"),
    ("page=0", "page"),
    ("page=abc", "page"),
    ("page=99999999999999999999999", "page must be a whole number from 1 to 100000"),
    ("page=100001", "page must be a whole number from 1 to 100000"),
    ("page=-1", "page must be a whole number from 1 to 100000"),
    ("page=%C2%B2", "page must be a whole number from 1 to 100000"),  # "²" passes isdigit()
    ("colour=red", "unknown parameter"),
])
def test_bad_case_queries_get_400(client: FlaskClient, token_for: Headers, query: str,
                                  message: str) -> None:
    response = client.get(f"/api/v1/cases?{query}", headers=token_for("agent"))
    assert response.status_code == 400 and message in response.json["message"]


def test_the_last_page_allowed_is_answered(client: FlaskClient, token_for: Headers) -> None:
    response = client.get("/api/v1/cases?page=100000", headers=token_for("supervisor"))
    assert response.status_code == 200 and response.json["cases"] == []


def test_longest_allowed_strings_are_kept(client: FlaskClient, token_for: Headers,
                                          services: Services) -> None:
    external_id = "x" * 255
    response = client.post("/api/v1/contacts", headers=token_for("intake"), json=contact(
        external_id=external_id, subject="s" * 1000))
    assert response.status_code == 201, response.json
    with services.database.read() as session:
        message = session.execute(sa.select(Message)).scalar_one()
    assert message.external_id == external_id


def test_a_late_contact_keeps_its_time_but_is_promised_a_future_answer(
        client: FlaskClient, token_for: Headers, services: Services) -> None:
    received = (NOW - dt.timedelta(days=29)).replace(microsecond=0)
    response = client.post("/api/v1/contacts", headers=token_for("intake"),
                           json=contact(received_at=received.isoformat()))
    assert response.status_code == 201, response.json
    assert response.json["reference"].startswith(f"CC-{received.year}-")
    with services.database.read() as session:
        case = session.execute(sa.select(Case)).scalar_one()
        acknowledgement = session.execute(sa.select(OutboxItem)).scalar_one()
    assert case.created_at == received  # the time limits count from when it arrived
    assert case.first_response_due is not None and case.first_response_due < NOW
    promised = dt.datetime.fromisoformat(acknowledgement.payload["first_response_due"])
    assert promised > dt.datetime.now(dt.UTC)


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
