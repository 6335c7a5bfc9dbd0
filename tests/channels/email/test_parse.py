"""Reading real-world mail: charsets, broken MIME, HTML, quotes and hostile names."""

from __future__ import annotations

import random

import pytest

from channels.email.charsets import _decode_words, decode_bytes, decode_header
from channels.email.parse import UnreadableMail, parse_mail, safe_filename
from channels.email.text import html_to_text, split_reply
from tests.conftest import SHARED_DATA, require_or_skip

EMAILS = SHARED_DATA / "emails"


def real(name: str) -> bytes:
    path = EMAILS / name
    require_or_skip(path.exists(), f"shared test mail {path} is missing")
    return path.read_bytes()


@pytest.mark.parametrize("name, field, expected", [
    ("kopano__big5.eml", "subject", "養樂多線上訂購"),  # raw 8-bit Big5 header
    ("kopano__gb2312_18030.eml", "subject", "讀取:"),  # GB2312 label, GBK bytes
    ("kopano__gb2312_18030.eml", "from_name", "梁祐晟"),
    ("mail__multi_charset__japanese_iso_2022.eml", "text", "すみません。"),
    ("mail__multi_charset__japanese_iso_2022.eml", "subject", "まみむめも"),
    ("mail__multi_charset__japanese_shift_jis.eml", "text", "このメールはテスト用のメールです。"),
    ("mail__multi_charset__ks_c_5601-1987.eml", "text", "스티해"),
    ("phpimap__ks_c_5601-1987_headers.eml", "subject", "회원님께 Ersi님이 메시지를 보냈습니다."),
    ("phpimap__ks_c_5601-1987_headers.eml", "from_name", "김 현진"),
    ("phpimap__mixed_filename.eml", "subject", "Свежий прайс-лист"),  # windows-1251
    ("flanker__8bitmime.eml", "text", "Превел"),
    ("mail__rfc6532__utf8_headers.eml", "from_address", "jdöe@mächine.example"),
    ("mail__error_emails__invalid_subject_characters.eml", "subject", "Formação FrenetikPolis"),
    ("kopano__html-charset-01.eml", "text", "bodyЧ"),  # unknown label "utf-8-purple"
    ("kopano__iconvonly02.eml", "text", "iconvonly"),  # HTML with an unknown charset
    ("phpimap__html_only.eml", "text", "Hi"),
])
def test_real_mail_decodes_to_the_right_characters(name: str, field: str, expected: str) -> None:
    mail = parse_mail(real(name))
    assert expected in getattr(mail, field)
    assert "\ufffd" not in getattr(mail, field)


def test_attachment_names_in_cjk_are_decoded() -> None:
    short = parse_mail(real("mail__multi_charset__japanese_attachment.eml"))
    assert [(a.filename, a.data.decode()) for a in short.attachments] == [
        ("てすと.txt", "this is a test\nこれわてすと")]
    long = parse_mail(real("mail__multi_charset__japanese_attachment_long_name.eml"))
    assert long.attachments[0].filename == "かきくけこ" * 5 + ".txt"


def test_broken_boundaries_are_recovered() -> None:
    mail = parse_mail(real("mailparser__mail_malformed_3.eml"))  # boundary never declared right
    assert "Feliz Navidad" in mail.text


def test_enclosed_messages_are_read_and_kept() -> None:
    mail = parse_mail(real("phpimap__four_nested_emails.eml"))
    assert "3-third-content" in mail.text and "0-zero-content" in mail.text
    assert any(a.content_type == "message/rfc822" for a in mail.attachments)


def test_delivery_reports_and_auto_replies_are_recognised() -> None:
    assert parse_mail(real("flanker__bounce_zed.eml")).report_type == "delivery-status"
    assert parse_mail(real("flanker__complaints_aol.eml")).report_type == "feedback-report"
    assert parse_mail(real("flanker__bounce_gmail-invalid-address.eml")).is_report
    assert parse_mail(real("flanker__from-encoding.eml")).auto_reason == "Precedence: bulk"
    human = parse_mail(real("flanker__no-ctype.eml"), "bob@marley.com")
    assert human.auto_reason == "" and not human.is_report


def test_charset_aliases_and_fallbacks() -> None:
    assert decode_bytes("路灯坏了".encode("gbk"), "gb2312") == "路灯坏了"
    assert decode_bytes("臺灣".encode("big5"), "big5") == "臺灣"
    assert decode_bytes("déjà".encode(), "iso-8859-1") == "déjà"  # mislabelled UTF-8
    assert decode_bytes("déjà".encode("cp1252"), None) == "déjà"
    assert decode_bytes("привет".encode("cp1251"), "x-unknown-charset") != ""
    assert decode_header("=?utf-8?q?=e2?= =?utf-8?q?=98=ba?=") == "☺"  # split character


def test_html_becomes_readable_text() -> None:
    text = html_to_text("<html><head><style>p{color:red}</style><script>alert(1)</script>"
                        "</head><body><p>Bin not&nbsp;collected</p><p>Thanks&amp;bye</p>"
                        "</body></html>")
    assert text == "Bin not collected\n\nThanks&bye"


def test_reply_text_is_separated_from_the_quote() -> None:
    new, history = split_reply("Still broken, please hurry.\n\nOn Mon, 3 Nov 2026, City of "
                               "Example wrote:\n> We have received your message\n> Case 1")
    assert new == "Still broken, please hurry."
    assert history.startswith("On Mon") and "> Case 1" in history
    new, history = split_reply("路灯还是坏的。\n\n发件人: City of Example\n主题: 收到")
    assert new == "路灯还是坏的。" and history.startswith("发件人")
    assert split_reply("No quote here.") == ("No quote here.", "")


def test_hostile_attachment_names_point_nowhere() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("..\\..\\windows\\system.ini") == "system.ini"
    assert safe_filename("..") == "attachment"
    assert safe_filename("a\x00b\nc.txt") == "ab_c.txt"


def test_absurd_nesting_is_refused_with_a_reason() -> None:
    raw = b"From: a@mail.example\r\nSubject: x\r\n\r\nhello\r\n"
    for level in range(3000):
        raw = (b"From: a@mail.example\r\nSubject: level %d\r\n"
               b"Content-Type: message/rfc822\r\n\r\n" % level) + raw
    with pytest.raises(UnreadableMail, match="nested too deeply"):
        parse_mail(raw)


def test_too_many_parts_are_refused_with_a_reason() -> None:
    part = b"--B\r\nContent-Type: message/rfc822\r\n\r\nSubject: p\r\n\r\nx\r\n"
    head = b"From: a@mail.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
    with pytest.raises(UnreadableMail, match="more than 3000 MIME parts"):
        parse_mail(head + part * 5000 + b"--B--\r\n")
    with pytest.raises(UnreadableMail, match="more than 3000 MIME parts"):  # no headers
        parse_mail(head + b"--B\r\n\r\nx\r\n" * 5000 + b"--B--\r\n")
    mail = parse_mail(head + part * 1000 + b"--B--\r\n")  # many, but not absurd: read
    assert any("were not read" in note for note in mail.skipped)
    lines = b"-- a comment, not a boundary\r\n" * 5000  # text that only looks like parts
    assert "a comment" in parse_mail(b"From: a@mail.example\r\n\r\n" + lines).text


def test_moderate_nesting_is_read_to_a_limit() -> None:
    raw = b"From: a@mail.example\r\nSubject: inner\r\n\r\nthe innermost text\r\n"
    for level in range(40):
        raw = (b"From: a@mail.example\r\nSubject: level %d\r\n"
               b"Content-Type: message/rfc822\r\n\r\n" % level) + raw
    mail = parse_mail(raw)
    assert any("nested deeper" in note for note in mail.skipped)
    assert "the innermost text" not in mail.text


def test_every_shared_mail_parses() -> None:
    files = sorted(EMAILS.glob("*.eml"))
    require_or_skip(len(files) >= 99, f"expected the 99 shared mails in {EMAILS}")
    for path in files:
        mail = parse_mail(path.read_bytes(), "sender@mail.example")
        assert mail.is_report or mail.text.strip() or mail.attachments or mail.subject, path


def test_apple_style_alternative_keeps_the_image_without_doubling_the_text() -> None:
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"] = "ann@mail.example"
    mail["Subject"] = "Photo of the pothole"
    mail.set_content("The pothole is here.")
    mail.add_alternative("<p>The pothole is here.</p>", subtype="html")
    html = mail.get_payload()[1]
    assert isinstance(html, EmailMessage)
    html.add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<img1>",
                     filename="pothole.png")
    parsed = parse_mail(mail.as_bytes())
    assert parsed.text == "The pothole is here."
    assert [a.filename for a in parsed.attachments] == ["pothole.png"]


def test_plain_headers_decode_as_the_general_way_does() -> None:
    rng = random.Random(7)
    alphabet = ["a", "Z", " ", "  ", "\t", "\r", "\n", "\r\n ", "\r\n\t", "\n ", "=", "?",
                "<", "@", "\x1c", "\x0b", "\x00", "\x1b", "\x7f", ",", '"']
    for _ in range(5000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))
        assert decode_header(raw) == _decode_words(raw, None), repr(raw)
