"""Open311 discovery, services and service definitions: the configured service types, in JSON
(checked against the GeoReport v2 schemas) and XML, English and Chinese; spec errors."""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from settings import Config
from tests.channels.open311.georeport import json_body, parse_xml, validate, xml_items


def test_services_list_every_configured_service_type(client: FlaskClient,
                                                     config: Config) -> None:
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    services = json_body(response)
    validate(services, "services")
    configured = [s.code for d in config.departments for s in d.services]
    assert [s["service_code"] for s in services] == configured
    pothole = next(s for s in services if s["service_code"] == "pothole")
    assert pothole["service_name"] == "Pothole"
    assert pothole["group"] == "Roads and streets"
    assert pothole["type"] == "realtime" and pothole["metadata"] is False
    assert "pothole" in pothole["keywords"]


def test_services_in_chinese_and_as_xml(client: FlaskClient) -> None:
    chinese = json_body(client.get("/open311/v2/services.json?locale=zh_CN"))
    validate(chinese, "services")
    pothole = next(s for s in chinese if s["service_code"] == "pothole")
    assert (pothole["service_name"], pothole["group"]) == ("路面坑洼", "道路与街道")
    response = client.get("/open311/v2/services.xml?lang=zh")
    assert response.status_code == 200
    assert response.content_type == "text/xml; charset=utf-8"
    items = xml_items(response.data, "services", "service")
    assert len(items) == len(chinese)
    as_xml = next(s for s in items if s["service_code"] == "pothole")
    assert as_xml["service_name"] == "路面坑洼" and as_xml["metadata"] == "false"
    assert as_xml["type"] == "realtime" and as_xml["description"] == ""


def test_service_definition_and_unknown_code(client: FlaskClient) -> None:
    response = client.get("/open311/v2/services/street-light.json")
    assert response.status_code == 200
    validate(response.json, "service-definition")
    assert response.json == {"service_code": "street-light", "attributes": []}
    root = parse_xml(client.get("/open311/v2/services/street-light.xml").data,
                     "service_definition")
    assert root.findtext("service_code") == "street-light"
    assert root.find("attributes") is not None and len(root.find("attributes") or []) == 0

    missing = client.get("/open311/v2/services/no-such-thing.json")
    assert missing.status_code == 404
    assert missing.json[0]["code"] == 404 and "no-such-thing" in missing.json[0]["description"]
    missing_xml = client.get("/open311/v2/services/no-such-thing.xml")
    assert missing_xml.status_code == 404
    errors = xml_items(missing_xml.data, "errors", "error")
    assert errors[0]["code"] == "404" and "no-such-thing" in errors[0]["description"]


def test_discovery_in_both_formats(client: FlaskClient) -> None:
    as_json = client.get("/open311/v2/discovery.json")
    assert as_json.status_code == 200
    document = as_json.json
    assert document["contact"] and document["key_service"] and document["changeset"]
    endpoint = document["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = parse_xml(client.get("/open311/v2/discovery.xml").data, "discovery")
    formats = root.findall("endpoints/endpoint/formats/format")
    assert [f.text for f in formats] == ["text/xml", "application/json"]
    assert root.findtext("contact") == document["contact"]


def test_unknown_resources_and_formats_answer_spec_errors(client: FlaskClient) -> None:
    for path in ("/open311/v2/services.yaml", "/open311/v2/nothing.json",
                 "/open311/v2/requests/CC-2026-000001.csv"):
        response = client.get(path)
        assert response.status_code == 404, path
        if path.endswith(".json"):
            assert json.loads(response.data)[0]["code"] == 404
        else:
            assert xml_items(response.data, "errors", "error")[0]["code"] == "404"
