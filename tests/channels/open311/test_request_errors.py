"""Open311 bad input on SQLite and PostgreSQL: the spec's error body, the right status, and
nothing written; API keys; anonymous reports where the setting allows them; private services."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from app import create_app
from caseboard.models import Case
from caseboard.replies import reply_targets
from caseboard.services import build_services, prepare_database
from tests.channels.open311.conftest import pothole_report, row_counts
from tests.channels.open311.georeport import json_body, validate, xml_items
from tests.conftest import make_config

BAD_INPUT = [
    ({"service_code": "<drop>"}, 400, "service_code is required"),
    ({"service_code": "no-such-service"}, 404, "no-such-service"),
    ({"lat": "<drop>", "long": "<drop>", "address_string": "<drop>"}, 400, "location"),
    ({"long": "<drop>"}, 400, "together"),
    ({"lat": "north", "long": "1"}, 400, "decimal"),
    ({"lat": "91", "long": "1"}, 400, "between"),
    ({"lat": "nan", "long": "1"}, 400, "decimal"),
    ({"description": "x" * 4001}, 400, "4000"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"email": "not-an-address"}, 400, "email"),
    ({"phone": "12"}, 400, "phone"),
    ({"attribute[a][b]": "1"}, 400, "attribute"),
    ({"first_name": "n" * 101}, 400, "first_name"),
]


@pytest.mark.parametrize("changes, status, words", BAD_INPUT)
def test_bad_input_is_refused_and_writes_nothing(client: FlaskClient, services: object,
                                                 api_key: str, changes: dict[str, str],
                                                 status: int, words: str) -> None:
    before = row_counts(services)  # type: ignore[arg-type]
    response = client.post("/open311/v2/requests.json", data=pothole_report(api_key, **changes))
    assert response.status_code == status, response.json
    assert response.json[0]["code"] == status
    assert words in response.json[0]["description"]
    assert row_counts(services) == before  # type: ignore[arg-type]


def test_errors_in_xml(client: FlaskClient, api_key: str) -> None:
    response = client.post("/open311/v2/requests.xml",
                           data=pothole_report(api_key, lat="<drop>", long="<drop>",
                                               address_string="<drop>"))
    assert response.status_code == 400
    assert response.content_type == "text/xml; charset=utf-8"
    error = xml_items(response.data, "errors", "error")[0]
    assert error["code"] == "400" and "location" in error["description"]
    for query, words in (("?status=pending", "status"), ("?start_date=yesterday", "start_date"),
                         ("?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
                          "90 days"),
                         ("?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
                          "after")):
        bad = client.get(f"/open311/v2/requests.json{query}")
        assert bad.status_code == 400 and words in bad.json[0]["description"], query
    unknown = client.get("/open311/v2/requests/CC-2026-999999.xml")
    assert unknown.status_code == 404
    assert xml_items(unknown.data, "errors", "error")[0]["code"] == "404"
    assert client.get("/open311/v2/requests/CC-2026-999999.json").json[0]["code"] == 404


def test_api_keys(client: FlaskClient, services: object, api_key: str) -> None:
    before = row_counts(services)  # type: ignore[arg-type]
    for form, headers in ((pothole_report("<drop>"), {}),
                          (pothole_report("cc_not-a-real-token"), {}),
                          (pothole_report("<drop>"), {"Authorization": "Bearer cc_forged"})):
        response = client.post("/open311/v2/requests.json", data=form, headers=headers)
        assert response.status_code == 403
        assert "api_key" in response.json[0]["description"]
    assert row_counts(services) == before  # type: ignore[arg-type]
    bearer = client.post("/open311/v2/requests.json", data=pothole_report("<drop>"),
                         headers={"Authorization": f"Bearer {api_key}"})
    assert bearer.status_code == 200
    validate(bearer.json, "RequestResponse")


def test_anonymous_reports_when_allowed(tmp_path: Path, db_url: str) -> None:
    config = make_config(tmp_path, db_url, CC_GEOREPORT_REQUIRE_API_KEY="false")
    services = build_services(config)
    prepare_database(services)
    try:
        app = create_app(config, services)
        client = app.test_client()
        form = {"service_code": "fly-tipping", "address_string": "Back lane behind the market",
                "description": "Mattresses dumped", "device_id": "phone-42",
                "account_id": "u-9"}
        response = client.post("/open311/v2/requests.json", data=form)
        assert response.status_code == 200, response.json
        validate(response.json, "RequestResponse")
        assert response.json[0]["account_id"] == "u-9"
        # The same app user again: the same reporter, no acknowledgement to send anywhere.
        client.post("/open311/v2/requests.json", data={**form, "description": "More bags"})
        counts = row_counts(services)
        assert (counts["Case"], counts["Citizen"], counts["OutboxItem"]) == (2, 1, 0)
        listed = json_body(client.get("/open311/v2/requests.json"))
        assert {r["agency_responsible"] for r in listed} == {"Waste and recycling"}
        with services.database.read() as session:
            case = session.execute(sa.select(Case)).scalars().first()
            assert case is not None
            # The app user's stand-in identity is no way to answer: agents are offered none.
            assert reply_targets(session, case) == []
    finally:
        services.database.dispose()


def test_private_services_show_status_only(client: FlaskClient, api_key: str) -> None:
    form = pothole_report(api_key, service_code="homelessness",
                          description="Family sleeping in the car park")
    reference = client.post("/open311/v2/requests.json", data=form).json[0][
        "service_request_id"]
    request = client.get(f"/open311/v2/requests/{reference}.json").json[0]
    assert request["status"] == "open" and request["service_code"] == "homelessness"
    assert all(request[field] is None for field in
               ("description", "address", "lat", "long", "media_url"))
    assert "car park" not in client.get("/open311/v2/requests.xml").get_data(as_text=True)


def test_a_body_over_the_limit_is_refused(client: FlaskClient, services: object,
                                         api_key: str) -> None:
    before = row_counts(services)  # type: ignore[arg-type]
    response = client.post("/open311/v2/requests.json",
                           data=pothole_report(api_key, description="x" * 1_100_000))
    assert response.status_code == 413
    assert json_body(response)[0]["code"] == 413
    assert row_counts(services) == before  # type: ignore[arg-type]
