"""GeoReport v2's two wire formats: JSON, and the schemaless XML it is mapped from.

Every response is built as plain data (dicts, lists, strings, numbers, None) and rendered here
once: JSON with the standard encoder, XML through xml.etree, so citizen text is always escaped
by the library and never pasted into markup. The XML follows the spec's examples: a list is a
container element whose children are named after one item (<services><service>…), None is an
empty element and booleans are `true`/`false`.
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from typing import Any

from flask import Response

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# A list's element name → the name of each of its items (the Spark convention, reversed).
ITEM_TAGS = {"services": "service", "service_requests": "request", "errors": "error",
             "attributes": "attribute", "values": "value", "endpoints": "endpoint",
             "formats": "format"}


class Open311Error(Exception):
    """A request GeoReport answers with its error body: [{"code", "description"}]."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def render(data: Any, fmt: str, root: str, status: int = 200) -> Response:
    """`data` as JSON, or as XML under the element `root` (a list or an object)."""
    if fmt == "xml":
        body = to_xml(root, data)
    else:
        body = json.dumps(data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return Response(body, status=status, content_type=CONTENT_TYPES[fmt])


def render_error(error: Open311Error, fmt: str) -> Response:
    return render([{"code": error.status, "description": error.description}],
                  fmt if fmt in FORMATS else "xml", "errors", error.status)


def to_xml(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, root, data)
    ET.indent(element)
    # The spec asks for this declaration exactly (double quotes, "UTF-8").
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n'
            + ET.tostring(element, encoding="unicode").encode("utf-8"))


def _fill(element: ET.Element, tag: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, list):
        child_tag = ITEM_TAGS.get(tag, "item")
        for item in value:
            _fill(ET.SubElement(element, child_tag), child_tag, item)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, float):
        element.text = repr(value) if math.isfinite(value) else ""
    else:
        element.text = _xml_safe(str(value))


def _xml_safe(text: str) -> str:
    """XML 1.0 cannot carry most control characters even escaped: drop them."""
    return "".join(ch for ch in text if ch in "\t\n\r" or (
        0x20 <= ord(ch) < 0xD800 or 0xE000 <= ord(ch) <= 0xFFFD or ord(ch) >= 0x10000))
