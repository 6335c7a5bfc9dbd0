"""Open311 requests on SQLite and PostgreSQL: a POST becomes a routed, acknowledged case that
GET shows with public fields only; retries make one case; filters; JSON and XML."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from caseboard.models import Case, CaseStatus, Message, OutboxItem, utcnow
from caseboard.services import Services
from tests.channels.open311.conftest import pothole_report, row_counts
from tests.channels.open311.georeport import json_body, validate, xml_items

Headers = Callable[[str], dict[str, str]]


def post(client: FlaskClient, form: dict[str, str], fmt: str = "json",
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = client.post(f"/open311/v2/requests.{fmt}", data=form, headers=headers or {})
    return response.status_code, response.json if fmt == "json" else response.data


def test_a_report_becomes_a_routed_acknowledged_case(client: FlaskClient, services: Services,
                                                     api_key: str, token_for: Headers) -> None:
    status, body = post(client, pothole_report(api_key))
    assert status == 200
    validate(body, "RequestResponse")
    assert isinstance(body, list) and len(body) == 1
    reference = body[0]["service_request_id"]
    assert reference.startswith("CC-")
    assert reference in body[0]["service_notice"]
    assert "Roads and streets" in body[0]["service_notice"]
    with services.database.read() as session:
        case = session.execute(sa.select(Case).where(Case.reference == reference)).scalar_one()
        message = session.execute(sa.select(Message).where(Message.case_id == case.id)
                                  ).scalar_one()
        acks = session.execute(sa.select(OutboxItem).where(OutboxItem.case_id == case.id)
                               ).scalars().all()
    assert (case.department_id, case.service_code, case.channel) == ("roads", "pothole", "web")
    assert case.status == CaseStatus.DISPATCHED
    assert "12 High Street" in message.text and "(51.50135, -0.14189)" in message.text
    assert "https://photos.example/pothole.jpg" in message.text and "depth: deep" in message.text
    assert [(a.kind, a.channel, a.recipient) for a in acks] == [
        ("acknowledgement", "email", "ana.reporter@mail.example")]
    # The board's data: the JSON API and the queue see the case in the roads department.
    staff = token_for("supervisor")
    detail = client.get(f"/api/v1/cases/{reference}", headers=staff).json
    assert (detail["department"], detail["service"]) == ("roads", "pothole")
    listed = client.get("/api/v1/cases?department=roads", headers=staff).json
    assert reference in [c["reference"] for c in listed["cases"]]


def test_get_shows_the_request_with_public_fields_only(client: FlaskClient,
                                                       api_key: str) -> None:
    _, body = post(client, pothole_report(
        api_key, description="Pothole, ring me on 07700 900456 or ana@mail.example"))
    reference = body[0]["service_request_id"]
    one = client.get(f"/open311/v2/requests/{reference}.json")
    assert one.status_code == 200
    validate(one.json, "requests")
    request = one.json[0]
    assert request["service_request_id"] == reference
    assert (request["status"], request["service_code"]) == ("open", "pothole")
    assert request["service_name"] == "Pothole"
    assert request["agency_responsible"] == "Roads and streets"
    assert request["address"] == "12 High Street, Example"
    assert (request["lat"], request["long"]) == (51.50135, -0.14189)
    assert request["media_url"] == "https://photos.example/pothole.jpg"
    assert request["status_notes"] and request["expected_datetime"]
    text = one.get_data(as_text=True)
    for private in ("Ana", "Reporter", "ana@mail.example", "ana.reporter", "7700", "900123",
                    "900456", "street-app"):
        assert private not in text, private
    listed = client.get("/open311/v2/requests.json")
    validate(listed.json, "requests")
    assert [r["service_request_id"] for r in json_body(listed)] == [reference]


def test_xml_post_and_get(client: FlaskClient, api_key: str) -> None:
    status, body = post(client, pothole_report(api_key, description="Tree <b>&</b> \"fallen\""),
                        fmt="xml")
    assert status == 200
    created = xml_items(body, "service_requests", "request")
    reference = created[0]["service_request_id"]
    assert reference.startswith("CC-") and reference in created[0]["service_notice"]
    response = client.get(f"/open311/v2/requests/{reference}.xml")
    assert response.content_type == "text/xml; charset=utf-8"
    request = xml_items(response.data, "service_requests", "request")[0]
    assert request["description"] == "Tree <b>&</b> \"fallen\""
    assert (request["status"], request["lat"], request["long"]) == ("open", "51.50135",
                                                                     "-0.14189")
    assert request["agency_responsible"] == "Roads and streets"


def test_retries_make_one_case(client: FlaskClient, services: Services, api_key: str) -> None:
    form = pothole_report(api_key)
    first = post(client, form)
    again = post(client, form)
    assert first == again
    assert row_counts(services)["Case"] == 1 and row_counts(services)["Message"] == 1
    # With an Idempotency-Key the key decides, whatever the client changed on its retry...
    keyed = {"Idempotency-Key": "report-7f3a"}
    one = post(client, pothole_report(api_key, description="Hole by the bus stop"),
               headers=keyed)
    two = post(client, pothole_report(api_key, description="Hole by the bus stop"),
               headers=keyed)
    assert one == two and one[0] == 200
    assert row_counts(services)["Case"] == 2
    # ...and the same key for another report is refused, writing nothing.
    before = row_counts(services)
    status, body = post(client, pothole_report(api_key, description="Another hole"),
                        headers=keyed)
    assert status == 400 and "Idempotency-Key" in body[0]["description"]
    assert row_counts(services) == before


def test_filters_and_statuses(client: FlaskClient, services: Services, api_key: str,
                              token_for: Headers) -> None:
    pothole = post(client, pothole_report(api_key))[1][0]["service_request_id"]
    light = post(client, pothole_report(api_key, service_code="street-light",
                                        description="Lamp out"))[1][0]["service_request_id"]
    with services.database.write() as session:
        case = session.execute(sa.select(Case).where(Case.reference == light)).scalar_one()
        case.status, case.resolved_at = CaseStatus.RESOLVED, utcnow()
    # A contact that did not come through Open311 is never shown.
    other = client.post("/api/v1/contacts", headers=token_for("intake"), json={
        "channel": "email", "sender": {"email": "x@mail.example"}, "text": "Pothole here",
        "service": "pothole"}).json["reference"]

    def ids(query: str) -> list[str]:
        response = client.get(f"/open311/v2/requests.json{query}")
        assert response.status_code == 200, response.json
        validate(response.json, "requests")
        return [r["service_request_id"] for r in json_body(response)]

    assert ids("") == [light, pothole]
    assert ids("?status=open") == [pothole]
    assert ids("?status=closed") == [light]
    assert ids("?status=open,closed&service_code=street-light") == [light]
    assert ids(f"?service_request_id={pothole},{other},{light}") == [light, pothole]
    assert ids("?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z") == []
    closed = client.get(f"/open311/v2/requests/{light}.json").json[0]
    assert closed["status"] == "closed" and closed["expected_datetime"] is None
    assert client.get(f"/open311/v2/requests/{other}.json").status_code == 404


def test_a_report_quoting_another_channels_case_keeps_that_case_private(
        client: FlaskClient, api_key: str, token_for: Headers) -> None:
    emailed = client.post("/api/v1/contacts", headers=token_for("intake"), json={
        "channel": "email", "sender": {"email": "x@mail.example"},
        "text": "My neighbour's housing repair", "service": "housing-repair"}).json["reference"]
    status, body = post(client, pothole_report(api_key, description=f"About {emailed}"))
    assert status == 200 and body[0]["service_request_id"] == emailed  # joined, as intake does
    assert client.get(f"/open311/v2/requests/{emailed}.json").status_code == 404
    assert json_body(client.get("/open311/v2/requests.json")) == []
