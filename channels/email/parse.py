"""Mail bytes → ParsedMail: headers decoded, readable text, attachments, loop and report flags.

Parsing never trusts the mail: charsets go through channels.email.charsets, nesting and the
number of parts are bounded, attachment names are reduced to a harmless base name (files are
stored by hash anyway, never under a name the sender chose).
"""

from __future__ import annotations

import datetime as dt
import email
import email.utils
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message as MimePart
from email.policy import compat32

from caseboard.contacts import CONTROL_CHARACTERS
from channels.email.charsets import decode_bytes, decode_header
from channels.email.plain import Headers, plain_content, split_plain
from channels.email.text import html_to_text, looks_binary, split_reply, tidy

MAX_DEPTH = 8  # message/rfc822 and multipart levels read; deeper parts are only noted
MAX_PARTS = 300
# Mail with more parts than this is refused before the stdlib parser builds them: 25 MB of
# tiny message/rfc822 parts is 400,000 objects, 14 s of CPU and 700 MB of memory.
MAX_PART_MARKERS = 3000
_PART_MARKER = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)
_BOUNDARY = re.compile(rb'boundary\s*=\s*"?([^"\s;]{1,70})', re.IGNORECASE)
_DELIMITER = re.compile(rb"^--(\S{1,72})", re.MULTILINE)
MAX_HEADER_ID_CHARS = 250  # Message.external_id / thread_id are VARCHAR(255)
_AUTO_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)$", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery status notification|returned mail|undelivered mail|delivery fail"
    r"|mail delivery failed|failure notice|delivery has failed|non-?delivery", re.I)


_Getter = Callable[[str], object]  # what Message.get(name) gives, None when absent


class UnreadableMail(ValueError):
    """The bytes cannot be read as a mail at all (e.g. nested beyond any sensible depth)."""


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass
class ParsedMail:
    message_id: str  # "<id@host>", or "" when the mail has none
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    subject: str
    date: dt.datetime | None
    in_reply_to: list[str]
    references: list[str]
    text: str  # everything readable: the new text first, then any quoted history
    new_text: str  # the reply's own words, without the quoted history
    attachments: list[ParsedAttachment]
    skipped: list[str] = field(default_factory=list)  # parts not kept, with the reason
    auto_reason: str = ""  # why this is machine mail ("" for a person)
    report_type: str = ""  # delivery-status / feedback-report / ... for reports
    defects: int = 0
    html_only: bool = False
    charset: str = ""
    # The stdlib's MIME tree; None for a single-part text mail, which parse_mail reads without
    # building one (only delivery reports are read further, and they always have it).
    mime: MimePart | None = None

    @property
    def is_report(self) -> bool:
        return bool(self.report_type)


def parse_mail(raw: bytes, envelope_from: str = "") -> ParsedMail:
    """A single-part text mail (most mail) is read straight from its bytes (plain.py), at a
    fraction of the cost; anything else through the stdlib's MIME tree. Same result."""
    _check_part_count(raw)
    return _parse_plain(raw, envelope_from) or _parse_mime(raw, envelope_from)


def _parse_mime(raw: bytes, envelope_from: str) -> ParsedMail:
    """Any mail, read through the stdlib's MIME tree."""
    try:
        message = email.message_from_bytes(raw, policy=compat32)
    except RecursionError:
        raise UnreadableMail("the message is nested too deeply to read") from None
    hint = _first_charset(message)
    collector = _Collector()
    try:
        collector.walk(message, 0)
    except RecursionError:
        raise UnreadableMail("the message is nested too deeply to read") from None
    present = _header_index(message)

    def get(name: str) -> object:  # most mail has few of the headers asked for: skip the scan
        return message.get(name) if name.lower() in present else None

    mail = _mail(present, hint, collector.texts, get,
                 attachments=collector.attachments, skipped=collector.skipped,
                 defects=collector.defects,
                 html_only=collector.html_only and not collector.plain_seen, mime=message)
    mail.report_type = _report_type(message, mail, envelope_from)
    mail.auto_reason = _auto_reason(get, mail, envelope_from)
    return mail


def _parse_plain(raw: bytes, envelope_from: str) -> ParsedMail | None:
    """A single-part text mail read without the MIME tree (ParsedMail.mime is None);
    None for any other mail, and for delivery reports (bounces.py reads their tree)."""
    split = split_plain(raw)
    if split is None:
        return None
    headers, body = split
    content = plain_content(headers, body)
    if content is None:
        return None
    text, charset = content

    def get(name: str) -> object:
        values = headers.get(name.lower())
        return values[0] if values else None

    mail = _mail(headers, charset, [text], get, attachments=[], skipped=[], defects=0,
                 html_only=False, mime=None)
    if _bounce_by_sender(mail, envelope_from):
        return None
    mail.auto_reason = _auto_reason(get, mail, envelope_from)
    return mail


def _mail(headers: Headers, hint: str | None, texts: list[str], get: _Getter, *,
          attachments: list[ParsedAttachment], skipped: list[str], defects: int,
          html_only: bool, mime: MimePart | None) -> ParsedMail:
    """The ParsedMail for a mail's headers and the readable texts found in its body."""
    def header(name: str) -> str:
        return decode_header(_first(headers, name), hint)

    from_name, from_address = _address(_first(headers, "From"), hint)
    text = tidy("\n\n".join(t for t in texts if t.strip()))
    new_text, history = split_reply(text)
    return ParsedMail(
        message_id=_message_id(_first(headers, "Message-ID")),
        from_name=from_name, from_address=from_address,
        to=_addresses(headers, "To", hint), cc=_addresses(headers, "Cc", hint),
        subject=header("Subject"), date=_date(_first(headers, "Date")),
        in_reply_to=_id_list(_first(headers, "In-Reply-To")),
        references=_id_list(_first(headers, "References")),
        text=f"{new_text}\n\n{history}" if history else new_text, new_text=new_text,
        attachments=attachments, skipped=skipped, defects=defects, html_only=html_only,
        charset=hint or "", mime=mime,
    )


def _check_part_count(raw: bytes) -> None:
    """Count, in the raw bytes, the lines that start a part: Content-Type headers, and the
    delimiter lines of declared boundaries (a part may have no headers at all). Cheap byte
    counts first; the regular expressions only run on mail that might be a bomb."""
    if len(raw) < MAX_PART_MARKERS * 4:  # too short to hold that many parts
        return
    limit = MAX_PART_MARKERS + 1
    too_many = raw.count(b"ontent-") >= limit and _at_least(_PART_MARKER.finditer(raw), limit)
    if not too_many and raw.count(b"\n--") >= limit:
        declared = _BOUNDARY.finditer(raw)
        boundaries = {m.group(1) for m in itertools.islice(declared, limit)}
        too_many = len(boundaries) >= limit or _at_least(
            (m for m in _DELIMITER.finditer(raw)
             if m.group(1) in boundaries or m.group(1)[:-2] in boundaries), limit)
    if too_many:
        raise UnreadableMail(f"the message has more than {MAX_PART_MARKERS} MIME parts")


def _at_least(items: Iterator[object], count: int) -> bool:
    return sum(1 for _ in itertools.islice(items, count)) >= count


class _Collector:
    """Walks the MIME tree: readable text in order, attachments, and what was left out."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.skipped: list[str] = []
        self.defects = 0
        self.parts = 0
        self.html_only = False
        self.plain_seen = False

    def walk(self, part: MimePart, depth: int) -> None:
        self.parts += 1
        self.defects += len(getattr(part, "defects", []))
        if self.parts > MAX_PARTS:
            if self.parts == MAX_PARTS + 1:
                self.skipped.append(f"parts after the first {MAX_PARTS} were not read")
            return
        ctype = _content_type(part)
        if depth > MAX_DEPTH:
            self.skipped.append(f"a {ctype} part nested deeper than {MAX_DEPTH} levels")
            return
        payload = part.get_payload()
        if ctype == "message/rfc822":
            self._enclosed(part, depth)
        elif part.is_multipart() and isinstance(payload, list) and not ctype.startswith(
                "message/"):
            children = [c for c in payload if isinstance(c, MimePart)]
            if ctype == "multipart/alternative":
                self._alternative(children, depth)
            else:
                for child in children:
                    self.walk(child, depth + 1)
        elif ctype.startswith("multipart/"):
            self._broken_multipart(part, depth)
        elif ctype.startswith("message/") and ctype != "message/delivery-status" and (
                isinstance(payload, list)):
            self._enclosed(part, depth)
        elif _is_attachment(part):
            self._attachment(part)
        elif ctype == "text/html":
            self.html_only = True
            self.texts.append(html_to_text(_text_of(part)))
        elif ctype.startswith("text/") or ctype == "message/delivery-status" or not ctype:
            self._plain(part)
        else:
            self._attachment(part)

    def _plain(self, part: MimePart) -> None:
        text = _text_of(part)
        if looks_binary(text):  # e.g. an Outlook .msg file sent as the body
            self._attachment(part, "application/octet-stream")
            self.skipped.append("the body is binary data, kept as an attachment")
            return
        self.plain_seen = True
        if not self.texts or self.texts[-1] != text:
            self.texts.append(text)

    def _broken_multipart(self, part: MimePart, depth: int) -> None:
        """A multipart whose declared boundary never appears: find the boundary it really
        uses, or read the body as plain text."""
        body = part.get_payload()
        body = body if isinstance(body, str) else ""
        found = re.search(r"^--([^\s]{1,70}?)(?:--)?\s*$", body, re.MULTILINE)
        if found:
            data = (f'Content-Type: multipart/mixed; boundary="{found.group(1)}"\r\n\r\n'
                    ).encode() + body.encode("ascii", "surrogateescape")
            rebuilt = email.message_from_bytes(data, policy=compat32)
            if rebuilt.is_multipart():
                self.walk(rebuilt, depth + 1)
                return
        if body.strip():
            self._plain(part)

    def _alternative(self, children: list[MimePart], depth: int) -> None:
        """Prefer the plain text a sender wrote; use the HTML only when it is all there is."""
        plain = [c for c in children if _content_type(c) == "text/plain"
                 and _text_of(c).strip()]
        if plain:
            self.walk(plain[0], depth + 1)
            for child in children:  # e.g. multipart/related: keep its images, not its text
                if not _content_type(child).startswith("text/"):
                    texts = len(self.texts)
                    self.walk(child, depth + 1)
                    del self.texts[texts:]
            return
        for child in children:
            self.walk(child, depth + 1)
            if self.texts and self.texts[-1].strip():
                break

    def _enclosed(self, part: MimePart, depth: int) -> None:
        inner = part.get_payload()
        message = inner[0] if isinstance(inner, list) and inner else None
        if not isinstance(message, MimePart):
            self.texts.append(_text_of(part))
            return
        hint = _first_charset(message)
        subject = decode_header(_first(_header_index(message), "Subject"), hint)
        sender = decode_header(_first(_header_index(message), "From"), hint)
        self.texts.append(f"---------- Enclosed message ----------\nFrom: {sender}\n"
                          f"Subject: {subject}")
        try:
            data = message.as_bytes(policy=compat32)
        except (RecursionError, UnicodeEncodeError, LookupError, ValueError):
            data = b""
        if data:
            self.attachments.append(ParsedAttachment(
                safe_filename(f"{subject or 'message'}.eml"), "message/rfc822", data))
        self.walk(message, depth + 1)

    def _attachment(self, part: MimePart, content_type: str = "") -> None:
        try:
            data = part.get_payload(decode=True)
        except (ValueError, LookupError, AssertionError):
            data = None
        if not isinstance(data, bytes) or not data:
            self.skipped.append(f"an empty or undecodable {_content_type(part)} part")
            return
        hint = _first_charset(part)
        name = part.get_filename() or part.get_param("name")
        if isinstance(name, tuple):  # RFC 2231 (charset, language, value) left undecoded
            name = email.utils.collapse_rfc2231_value(name)
        filename = decode_header(name if isinstance(name, str) else "", hint)
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        self.attachments.append(ParsedAttachment(
            safe_filename(filename or _default_name(content_type or _content_type(part), data)),
            content_type or _content_type(part), data, inline=disposition == "inline"))


def _is_attachment(part: MimePart) -> bool:
    if "content-disposition" in _header_index(part):
        disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if disposition == "attachment":
            return True
    # The type first: reading a file name parses two headers, and most parts are text.
    return not _content_type(part).startswith("text/") and bool(part.get_filename())


def _text_of(part: MimePart) -> str:
    try:
        data = part.get_payload(decode=True)
    except (ValueError, LookupError, AssertionError):
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        data = payload.encode("ascii", "surrogateescape") if isinstance(payload, str) else b""
    text = decode_bytes(data, _charset(part), None)
    if _content_type(part) == "text/html":
        return text
    return tidy(text)


def _param(part: MimePart, name: str) -> str | None:
    try:
        value = part.get_param(name)
    except (ValueError, LookupError):
        return None
    if isinstance(value, tuple):
        value = value[2]
    return str(value) if value else None


def _first_charset(message: MimePart) -> str | None:
    """The first declared charset, used to read raw 8-bit headers in the same message."""
    for index, part in enumerate(message.walk()):
        if index > 50:
            break
        charset = _charset(part)
        if charset:
            return charset
    return None


# Parts are read once and never changed, but the walk, the charset hint, the report check and
# the text all ask a part for its type and charset: each ask parses its headers again (a
# message.get scans every header). So the answers are kept on the part.

def _content_type(part: MimePart) -> str:
    """part.get_content_type(), worked out once per part."""
    ctype: str | None = getattr(part, "_cc_content_type", None)
    if ctype is None:
        ctype = part.get_content_type()
        setattr(part, "_cc_content_type", ctype)  # noqa: B010 (not a declared attribute)
    return ctype


def _charset(part: MimePart) -> str | None:
    """The part's declared charset parameter, worked out once per part."""
    cached: tuple[str | None] | None = getattr(part, "_cc_charset", None)
    if cached is None:
        cached = (_param(part, "charset") if "content-type" in _header_index(part) else None,)
        setattr(part, "_cc_charset", cached)  # noqa: B010 (not a declared attribute)
    return cached[0]


def _first(headers: Headers, name: str) -> str:
    """The header as sent (8-bit bytes as surrogate escapes), "" when absent."""
    values = headers.get(name.lower())
    return values[0] if values else ""


def _header_index(message: MimePart) -> Headers:
    """Lower-cased name → the raw values, controls dropped. Indexed once per part: parsing
    looks up about ten headers, each a scan otherwise."""
    index: Headers | None = getattr(message, "_cc_raw_headers", None)
    if index is None:
        index = {}
        for key, value in message.raw_items():
            # NUL and other controls are not allowed in headers; dropped before any use.
            index.setdefault(key.lower(), []).append(CONTROL_CHARACTERS.sub("", str(value)))
        setattr(message, "_cc_raw_headers", index)  # noqa: B010 (not a declared attribute)
    return index


# "ann@mail.example", "<ann@mail.example>" or "Ann Citizen <ann@mail.example>": most mail.
# The stdlib's address parser costs a third of parsing; these read the same without it.
_PLAIN_ADDRESS = re.compile(r"\s*<?([A-Za-z0-9_%+=-][A-Za-z0-9._%+=-]*@[A-Za-z0-9-]+"
                            r"(?:\.[A-Za-z0-9-]+)+)>?\s*")
_NAMED_ADDRESS = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9 -]*?)\s*<([A-Za-z0-9_%+=-]"
                            r"[A-Za-z0-9._%+=-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>\s*")


def _simple_address(value: str) -> tuple[str, str] | None:
    plain = _PLAIN_ADDRESS.fullmatch(value)
    if plain is not None and value.count("<") == value.count(">"):
        return "", plain.group(1)
    named = _NAMED_ADDRESS.fullmatch(value)
    if named is not None:
        return " ".join(named.group(1).split()), named.group(2)
    return None


def _address(raw: str, hint: str | None) -> tuple[str, str]:
    """(display name, address) from a From header; names decoded after splitting."""
    unfolded = raw.replace("\r", "").replace("\n", " ")
    name, address = _simple_address(unfolded) or email.utils.parseaddr(unfolded)
    if not address and raw:
        found = re.search(r"[^\s<>\"',;:]+@[^\s<>\"',;:]+", decode_header(raw, hint))
        address = found.group(0) if found else ""
    return decode_header(name, hint).strip("'\" "), decode_header(address, hint).strip("<> ")


def _addresses(headers: Headers, name: str, hint: str | None) -> list[str]:
    values = [decode_header(v, hint) for v in headers.get(name.lower(), [])]
    simple = [_simple_address(v) for v in values]
    pairs = [pair for pair in simple if pair is not None]
    if len(pairs) < len(simple):
        pairs = email.utils.getaddresses(values)
    return [a for _, a in pairs if a and "@" in a][:50]


def _message_id(raw: str) -> str:
    ids = _id_list(raw)
    return ids[0] if ids else ""


_BRACKETED_ID = re.compile(r"<([^<>\s]+)>")


def _id_list(raw: str) -> list[str]:
    if not raw:  # most mail has no In-Reply-To or References
        return []
    found = _BRACKETED_ID.findall(raw)
    if not found and raw.strip() and " " not in raw.strip():
        found = [raw.strip()]
    return [f"<{i}>" for i in found if len(i) + 2 <= MAX_HEADER_ID_CHARS][-30:]


def _date(raw: str) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _report_type(message: MimePart, mail: ParsedMail, envelope_from: str) -> str:
    """Delivery reports, complaint feedback and read receipts: machine reports, not cases."""
    if _content_type(message) == "multipart/report":
        return str(message.get_param("report-type") or "report").lower()
    for index, part in enumerate(message.walk()):
        if index > MAX_PARTS:
            break
        ctype = _content_type(part)
        if ctype in ("message/delivery-status", "message/feedback-report",
                     "message/disposition-notification"):
            return ctype.split("/", 1)[1]
    return _bounce_by_sender(mail, envelope_from)


def _bounce_by_sender(mail: ParsedMail, envelope_from: str) -> str:
    """A bounce written as a plain mail by a mailer daemon."""
    daemon = any(_AUTO_SENDERS.match(a.split("@")[0].strip("<> "))
                 for a in (envelope_from, mail.from_address) if a)
    if daemon and _BOUNCE_SUBJECT.search(mail.subject or ""):
        return "delivery-status"
    return ""


def _auto_reason(get: _Getter, mail: ParsedMail, envelope_from: str) -> str:
    """Why no acknowledgement may go back (RFC 3834 and the headers mailers really use).
    `get` is Message.get: the first header of that name, None when there is none."""
    auto = str(get("Auto-Submitted") or "").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = str(get("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond",
                 "X-Auto-Reply"):
        if get(name) is not None:
            return f"{name} header"
    suppress = str(get("X-Auto-Response-Suppress") or "").lower()
    if any(word in suppress for word in ("all", "oof", "autoreply")):
        return f"X-Auto-Response-Suppress: {suppress}"
    if envelope_from.strip() in ("", "<>"):
        return "null envelope sender"
    for address in (envelope_from, mail.from_address):
        if _AUTO_SENDERS.match(address.split("@")[0].strip("<> ")):
            return f"sent by {address}"
    if mail.is_report:
        return f"report: {mail.report_type}"
    return ""


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def safe_filename(name: str) -> str:
    """A display name that cannot point anywhere: no directories, no control characters."""
    base = re.split(r"[/\\]", name.replace("\x00", ""))[-1]
    base = _UNSAFE.sub("_", base).strip(" .")
    if base in ("", ".", ".."):
        base = "attachment"
    return base[:200]


def _default_name(ctype: str, data: bytes) -> str:
    extension = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
                 "application/pdf": ".pdf", "text/plain": ".txt", "text/html": ".html"}
    return f"part-{hashlib.sha256(data).hexdigest()[:8]}{extension.get(ctype, '.bin')}"
