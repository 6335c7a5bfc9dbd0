"""The plain-mail fast path reads exactly what the MIME path reads, or leaves the mail to it."""

from __future__ import annotations

import dataclasses
import random

from channels.email.parse import ParsedMail, _parse_mime, _parse_plain, parse_mail
from tests.channels.email.conftest import make_mail
from tests.conftest import SHARED_DATA, require_or_skip

EMAILS = SHARED_DATA / "emails"

FROMS = [b"ann@mail.example", b"Ann Citizen <ann@mail.example>", b'"Doe, John" <j@x.example>',
         b"=?utf-8?b?5byg5LiJ?= <zhang@mail.example>", "Zoë <zoe@mail.example>".encode(),
         "Zoë <zoe@mail.example>".encode("latin-1"), b"MAILER-DAEMON@mx.example",
         b"postmaster@mx.example", b"not an address", b"ann@mail.example (Ann)"]
SUBJECTS = [b"Request 1", b"=?iso-8859-1?q?caf=E9?=", "路灯坏了".encode(),
            "路灯坏了".encode("gb18030"), b"Undelivered Mail Returned to Sender",
            b"long subject\r\n folded over\r\n\ttwo lines", b"", b"Re: [REF-1] bin",
            b"bell\x07 and\x1c file separator"]
CONTENT_TYPES = [None, b"text/plain", b'text/plain; charset="utf-8"', b"text/plain; charset=utf-8",
                 b'TEXT/Plain; Charset="ISO-8859-1"', b"text/plain; charset=gb2312",
                 b"text/plain;\r\n charset=us-ascii", b'text/plain; charset="utf-8"; format=flowed',
                 b"text/html; charset=utf-8", b"text", b"charset", b"text/plain; charset=x-bogus",
                 b"text/plain; charset=utf-8;", b"text/calendar", b"application/pdf",
                 b"text/plain; charset=\"utf-8", b"message/rfc822", "text/plain; é".encode(),
                 b"text/plain; charset=utf\x01-8"]
ENCODINGS = [None, b"7bit", b"8bit", b"quoted-printable", b"base64", b"8BIT ", b"binary",
             b"Quoted-Printable"]
DISPOSITIONS = [None, b"inline", b"attachment; filename=a.txt", b"inline; filename=a.txt"]
BODIES = [b"My bin was not collected on Tuesday.\r\n\r\nReference number 1.\r\n",
          "路灯坏了好几天了".encode(), "路灯坏了好几天了".encode("gb18030"),
          "Café crème".encode("latin-1"), b"caf=C3=A9 =\r\nsoft break\r\n", b"",
          b"Still broken.\r\n\r\nOn Tue, 7 May 2024, Contact wrote:\r\n> We will look.\r\n",
          b"nul \x00 here\r\n", bytes(range(256)), b"bare\rcarriage\rreturns", b"\r\n\r\n\r\n",
          b"SGVsbG8gd29ybGQK\r\n", b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n"]
EXTRAS = [b"Auto-Submitted: auto-replied", b"Auto-Submitted: no", b"Precedence: bulk",
          b"List-Id: <list.example>", b"X-Auto-Response-Suppress: All",
          b"Date: Tue, 07 May 2024 10:00:00 +0200", b"Date: garbage",
          b"Message-ID: x.nobrackets@host", b"Message-ID: <a@b>",
          b"In-Reply-To: <x.1@mail.example>", b"References: <a@b> <c@d>\r\n <e@f>",
          b"Cc: carol@y.example, dave@z.example", b"To: a@b.example, \"B, C\" <b@c.example>",
          b"X-Weird: \x01control", b"X-Bare: cr\rinside", b"X-Eight: caf\xc3\xa9",
          b"Subject: second subject", b"Content-Type: multipart/mixed; boundary=B",
          b"MIME-Version: 1.0", b"X-Folded: a\r\n\tb"]
ANOMALIES = [b"", b"From ann@mail.example Tue May  7 10:00:00 2024\r\n", b" continuation first\r\n",
             b"no colon here\r\n", b":no name\r\n", b"Spaced Name : value\r\n", b"\r\n"]


def _header(name: bytes, value: bytes | None) -> list[bytes]:
    return [] if value is None else [name + b": " + value]


def _random_mail(rng: random.Random) -> bytes:
    lines = [*_header(b"From", rng.choice(FROMS)), *_header(b"To", b"contact@city.example"),
             *_header(b"Subject", rng.choice(SUBJECTS)),
             *_header(b"Content-Type", rng.choice(CONTENT_TYPES)),
             *_header(b"Content-Transfer-Encoding", rng.choice(ENCODINGS)),
             *_header(b"Content-Disposition", rng.choice(DISPOSITIONS))]
    lines += rng.sample(EXTRAS, rng.randrange(4))
    rng.shuffle(lines)
    ending = rng.choice([b"\r\n", b"\n", b"\r\n", b"\r"])
    head = ending.join(lines) + ending
    if rng.random() < 0.2:
        head = rng.choice(ANOMALIES) + head
    separator = rng.choice([ending, ending, b"\n", b"\r\n", b""])
    return head + separator + rng.choice(BODIES)


def _same_as_mime_path(raw: bytes, envelope_from: str) -> bool:
    """Asserts the fast path agrees with the MIME path; True when it read the mail."""
    fast = _parse_plain(raw, envelope_from)
    if fast is None:
        return False
    full = _parse_mime(raw, envelope_from)
    assert fast.mime is None
    assert fast == dataclasses.replace(full, mime=None), raw
    return True


def test_generated_mail_reads_the_same_either_way() -> None:
    rng = random.Random(2026)
    envelopes = ["citizen@mail.example", "", "<>", "MAILER-DAEMON@mx.example"]
    fast = sum(_same_as_mime_path(_random_mail(rng), rng.choice(envelopes))
               for _ in range(3000))
    assert fast > 300  # the fast path is really exercised


def test_shared_mail_reads_the_same_either_way() -> None:
    files = sorted(EMAILS.glob("*.eml"))
    require_or_skip(len(files) >= 99, f"expected the 99 shared mails in {EMAILS}")
    fast = sum(_same_as_mime_path(path.read_bytes(), sender)
               for path in files for sender in ("sender@mail.example", ""))
    assert fast >= 20


def test_the_everyday_plain_mail_takes_the_fast_path() -> None:
    for text in ("My bin was not collected on Tuesday.", "路灯坏了好几天了",
                 "A line with = signs and a long one " + "x" * 200):
        raw = make_mail(text, message_id="<x.1@mail.example>").as_bytes()
        assert _same_as_mime_path(raw, "ann@mail.example")


def test_reports_and_other_kinds_keep_their_mime_tree() -> None:
    bounce = (b"From: MAILER-DAEMON@mx.example\r\nSubject: Undelivered Mail Returned to Sender"
              b"\r\n\r\nThe mail could not be delivered.\r\n")
    mail = parse_mail(bounce, "")
    assert mail.report_type == "delivery-status" and mail.mime is not None
    html = make_mail("x")
    html.set_content("<p>Hello</p>", subtype="html")
    assert isinstance(parse_mail(html.as_bytes()), ParsedMail)
    assert parse_mail(html.as_bytes()).mime is not None

