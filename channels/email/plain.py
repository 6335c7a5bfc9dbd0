"""A single-part text mail read straight from its bytes, exactly as the stdlib would read it.

The plain mail most people send is one text part with well-formed headers. Building the
stdlib's MIME tree and asking it for each header and parameter costs several times more than
reading the bytes directly; parse.py does the latter for such mail and gets the same result
(tests/channels/email/test_parse_plain.py compares both ways). Everything here answers None
for mail it cannot read exactly as the stdlib's compat32 parser does, which parse.py then
reads the full way.
"""

from __future__ import annotations

import quopri
import re

from channels.email.charsets import decode_bytes
from channels.email.text import looks_binary, tidy

Headers = dict[str, list[str]]  # lower-cased name → raw values in order (controls dropped)

MAX_PLAIN_HEADER_BYTES = 65536  # longer header blocks are left to the stdlib
# A header field as the stdlib reads it: a name (its header line test), the value after any
# spaces or tabs, continuation lines included with their line ends; the last line end is not
# part of the value. The block has no bare CR (checked first), so a line is [^\r\n]*\r?\n.
# Matched one field at a time: one pattern over all fields backtracks quadratically when a
# late line is not a field.
_FIELD = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)\r?\n")
_BYTE_CONTROLS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EIGHT_BIT_HEADERS = {"from", "to", "cc", "subject"}  # only ever read by decode_header
_PLAIN_CONTENT_TYPE = re.compile(  # what Message.get_param("charset") reads without surprises
    r'\s*([^\s;"=]+)\s*(?:;\s*charset\s*=\s*("?)([A-Za-z0-9._:-]+)\2\s*)?', re.IGNORECASE)
_ENCODED_BODIES = {"base64", "x-uuencode", "uuencode", "uue", "x-uue"}


def split_plain(raw: bytes) -> tuple[Headers, bytes] | None:
    """(headers, body) when the stdlib would read the header block without a defect: lines
    ending in CRLF or LF, each a field or a continuation, then an empty line; no control
    characters, and 8-bit bytes only in the headers read as text. None otherwise."""
    limit = MAX_PLAIN_HEADER_BYTES
    ends = [i for i in (raw.find(b"\n\n", 0, limit), raw.find(b"\n\r\n", 0, limit)) if i >= 0]
    if not ends:
        return None
    end = min(ends)  # the first empty line
    block = raw[:end + 1]
    body = raw[end + (2 if raw[end + 1:end + 2] == b"\n" else 3):]
    if block.count(b"\r") != block.count(b"\r\n") or _BYTE_CONTROLS.search(block):
        return None
    text = block.decode("ascii", "surrogateescape")  # as the stdlib decodes mail bytes
    eight_bit = not block.isascii()
    headers: Headers = {}
    position = 0
    while position < len(text):
        found = _FIELD.match(text, position)
        if found is None:
            return None
        name, value = found.groups()
        key = name.lower()
        if eight_bit and not value.isascii() and key not in _EIGHT_BIT_HEADERS:
            return None
        headers.setdefault(key, []).append(value)
        position = found.end()
    return headers, body


def plain_content(headers: Headers, body: bytes) -> tuple[str, str | None] | None:
    """(text, charset) as parse.py's _Collector reads a lone text part; None for any other
    kind."""
    ctype, charset = "text/plain", None
    declared = headers.get("content-type")
    if declared:
        found = _PLAIN_CONTENT_TYPE.fullmatch(declared[0])
        if found is None:
            return None
        ctype, charset = found.group(1).lower(), found.group(3)
        ctype = ctype if ctype.count("/") == 1 else "text/plain"
    if not ctype.startswith("text/") or ctype == "text/html":
        return None
    disposition = headers.get("content-disposition")
    if disposition and disposition[0].split(";")[0].strip().lower() == "attachment":
        return None
    encoding = headers.get("content-transfer-encoding")
    cte = encoding[0].lower() if encoding else ""
    if cte in _ENCODED_BODIES:
        return None
    data = quopri.decodestring(body) if cte == "quoted-printable" else body
    text = tidy(decode_bytes(data, charset, None))
    if looks_binary(text):
        return None
    return text, charset
