"""Checks shared by the Open311 tests: JSON against the GeoReport v2 schemas of
../shared/data/open311/georeport-v2-schema (open311/schema-validation, see its SOURCES.md),
XML parsed back into the same shape."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from functools import cache
from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.conftest import SHARED_DATA, require_or_skip

SCHEMAS = SHARED_DATA / "open311" / "georeport-v2-schema"
SCHEMA_FILES = ("request", "requests", "service", "services", "service-definition")
TIME_FIELDS = ("requested_datetime", "updated_datetime", "expected_datetime")


@cache
def _registry() -> Registry:
    resources = []
    for name in SCHEMA_FILES:
        contents = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
        resources.append((f"{name}.json", Resource.from_contents(
            contents, default_specification=DRAFT7)))
    return Registry().with_resources(resources)


def _swagger_definition(name: str) -> dict[str, Any]:
    swagger = json.loads((SCHEMAS / "swagger.json").read_text(encoding="utf-8"))
    definition: dict[str, Any] = swagger["definitions"][name]
    return definition


def validate(document: Any, schema_name: str) -> None:
    """Raise jsonschema's ValidationError unless `document` matches the named schema
    (a file such as "requests", or "RequestResponse" from the swagger definitions)."""
    require_or_skip(SCHEMAS.is_dir(), f"the GeoReport v2 schemas are not at {SCHEMAS}")
    if schema_name == "RequestResponse":
        schema = {"type": "array", "minItems": 1,
                  "items": {**_swagger_definition("RequestResponse"),
                            "required": ["service_request_id"]}}
    else:
        schema = _registry().contents(f"{schema_name}.json")
    Draft7Validator(schema, registry=_registry()).validate(document)
    # The schemas name date-time formats without checking them: check them here.
    items = document if isinstance(document, list) else [document]
    for item in items:
        for field in TIME_FIELDS:
            if isinstance(item, dict) and item.get(field) is not None:
                moment = dt.datetime.fromisoformat(item[field])
                assert moment.tzinfo is not None, f"{field} {item[field]!r} has no offset"


def parse_xml(body: bytes, root: str) -> ET.Element:
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), body[:60]
    element = ET.fromstring(body)
    assert element.tag == root, element.tag
    return element


def xml_items(body: bytes, root: str, item: str) -> list[dict[str, str]]:
    """<root><item><field>text</field>…</item>…</root> as a list of {field: text}."""
    element = parse_xml(body, root)
    assert all(child.tag == item for child in element), [c.tag for c in element]
    return [{field.tag: field.text or "" for field in child} for child in element]


def json_body(response: Any) -> Any:
    """A test response's JSON (Flask types .json as possibly None)."""
    return json.loads(response.data)
