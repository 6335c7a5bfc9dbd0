"""The real SMTP server fed with smtplib: 250 only after commit, clear refusals for bad mail."""

from __future__ import annotations

import os
import smtplib
from pathlib import Path

import pytest
from sqlmodel import col, select

from caseboard.models import Attachment, Case, Message
from caseboard.outbox import Dispatcher
from caseboard.services import Services
from channels.email.outbound import EmailTransport
from tests.channels.email.conftest import case_of, make_mail, messages_of
from tests.channels.email.test_inbound import dsn

pytestmark = pytest.mark.ports


def send(port: int, raw: bytes, recipients: list[str], sender: str = "ann@mail.example"
         ) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo()
        client.mail(sender)
        for recipient in recipients:
            code, reply = client.rcpt(recipient)
            assert code == 250, reply
        return client.data(raw)


def test_mail_makes_a_case_a_reply_joins_and_a_bounce_fails_the_ack(
        services: Services, smtp_port: int) -> None:
    code, reply = send(smtp_port, make_mail(message_id="<s1@mail.example>").as_bytes(),
                       ["contact@city.example"])
    assert code == 250 and b"created CC-" in reply
    reference = reply.decode().split()[-1]
    case = case_of(services, reference)
    Dispatcher(services.database, 3,
               {"email": EmailTransport(services.config, services.database)}).send_one()
    [ack] = [m for m in messages_of(services, case.id or 0) if m.direction == "out"]
    eml = services.config.data_dir / "outbox-mail"
    assert [p.suffix for p in eml.iterdir()] == [".eml"]  # no relay: written offline
    reply_mail = make_mail("Thanks, it is still dark.", subject="Re: light",
                           In_Reply_To=ack.thread_id or "")
    code, answer = send(smtp_port, reply_mail.as_bytes(), ["contact@city.example"])
    assert code == 250 and answer.decode().endswith(f"joined {reference}")
    code, answer = send(smtp_port, dsn(ack.thread_id or "", "ann@mail.example"),
                        ["contact@city.example"], sender="")
    assert code == 250 and b"bounce" in answer
    [ack] = [m for m in messages_of(services, case.id or 0) if m.direction == "out"]
    assert ack.delivery_status == "failed"


def test_a_department_alias_routes_and_unknown_recipients_get_550(
        services: Services, smtp_port: int) -> None:
    code, reply = send(smtp_port, make_mail("Question about my rent").as_bytes(),
                       ["housing@city.example"])
    assert code == 250
    assert case_of(services, reply.decode().split()[-1]).department_id == "housing"
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.ehlo()
        client.mail("ann@mail.example")
        assert client.rcpt("nobody@city.example")[0] == 550
        assert client.rcpt("contact@elsewhere.example")[0] == 550
        assert client.rcpt("Contact@City.Example")[0] == 250


def test_envelope_paths_in_every_form_name_the_sender(services: Services,
                                                      smtp_port: int) -> None:
    """A mail whose From is unusable is filed under its MAIL FROM path, however written."""
    paths = {  # as the client writes MAIL FROM: the address the case must show
        "<o'neil+bins@mail.example> SIZE=300 BODY=8BITMIME": "o'neil+bins@mail.example",
        "<ann.lee@Mail.Example>": "ann.lee@mail.example",
        '<"ann lee"@mail.example>': "",  # quoted local part: read, but not an address we use
        "<@relay.example:bob@mail.example>": "bob@mail.example",  # source route dropped
        "<carol@mail.example> (a comment) SIZE=300": "carol@mail.example",
    }
    raw = (b"From: nobody\r\nSubject: bins\r\n\r\nMy bin was not collected.\r\n")
    for index, (path, expected) in enumerate(paths.items()):
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
            client.ehlo()
            assert client.docmd("MAIL FROM:" + path)[0] == 250, path
            assert client.rcpt("contact@city.example")[0] == 250
            code, reply = client.data(raw.replace(b"bins", f"bins {index}".encode()))
        if not expected:
            assert code == 550 and b"no usable sender" in reply
            continue
        assert code == 250, (path, reply)
        case = case_of(services, reply.decode().split()[-1])
        [message] = messages_of(services, case.id or 0)
        assert message.sender == expected, path
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.ehlo()
        assert client.docmd("MAIL FROM:<ann@mail..example>")[0] == 553  # malformed


def test_database_failure_answers_451_and_stores_nothing(
        services: Services, smtp_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise OSError("disk on fire")

    monkeypatch.setattr(services.database, "write", broken)
    monkeypatch.setattr(services.database, "write_retrying", broken)
    code, reply = send(smtp_port, make_mail().as_bytes(), ["contact@city.example"])
    monkeypatch.undo()
    assert code == 451 and b"try again" in reply
    with services.database.read() as session:
        assert session.execute(select(Case)).first() is None


def test_oversize_mail_is_refused_with_552(services: Services, smtp_port: int) -> None:
    big = make_mail("x" * 100).as_bytes() + b"\r\n" + (b"A" * 998 + b"\r\n") * 61_000
    assert len(big) > 60_000_000
    code, reply = send(smtp_port, big, ["contact@city.example"])
    assert code == 552 and b"too much mail data" in reply.lower()
    with services.database.read() as session:
        assert session.execute(select(Case)).first() is None


def test_ten_thousand_recipients_are_capped(services: Services, smtp_port: int) -> None:
    recipients = [f"r{i}@city.example" for i in range(10_000)] + ["contact@city.example"]
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
        refused = client.sendmail("ann@mail.example", ["contact@city.example", *recipients],
                                  make_mail().as_bytes())
    assert len(refused) == 10_000
    assert {code for code, _ in refused.values()} <= {452, 550}
    with services.database.read() as session:
        assert len(session.execute(select(Case)).all()) == 1


def test_ten_thousand_valid_recipients_stop_at_the_limit(services: Services,
                                                         smtp_port: int) -> None:
    limit = services.config["smtp.max_recipients"]
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
        client.ehlo()
        client.mail("ann@mail.example")
        codes = [client.rcpt(("contact", "housing")[i % 2] + "@city.example")[0]
                 for i in range(10_000)]
        code, reply = client.data(make_mail().as_bytes())
    assert codes == [250] * limit + [452] * (10_000 - limit)
    assert code == 250
    with services.database.read() as session:
        assert len(session.execute(select(Case)).all()) == 1  # one mail, one case


def test_a_mail_of_100000_tiny_parts_is_refused_before_it_is_parsed(
        services: Services, smtp_port: int) -> None:
    part = b"--B\r\nContent-Type: message/rfc822\r\n\r\nSubject: p\r\n\r\nx\r\n"
    raw = (b"From: ann@mail.example\r\nSubject: bomb\r\n"
           b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + part * 100_000 + b"--B--\r\n")
    assert len(raw) < services.config["smtp.max_message_bytes"]  # ~3 s and 200 MB to parse
    code, reply = send(smtp_port, raw, ["contact@city.example"])
    assert code == 554 and b"MIME parts" in reply
    with services.database.read() as session:
        assert session.execute(select(Message)).first() is None


def test_a_100_kb_header_line_is_refused(services: Services, smtp_port: int) -> None:
    raw = b"From: ann@mail.example\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\nhello\r\n"
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as client:
        client.ehlo()
        client.mail("ann@mail.example")
        client.rcpt("contact@city.example")
        code, reply = client.data(raw)
    assert code == 500 and b"too long" in reply.lower()
    with services.database.read() as session:
        assert session.execute(select(Case)).first() is None


def test_nul_bytes_and_hostile_names_are_stored_safely(
        services: Services, smtp_port: int, tmp_path: Path) -> None:
    mail = make_mail("hello\x00 there, my bin was not collected")
    mail.add_attachment(b"root:x:0:0", maintype="application", subtype="octet-stream",
                        filename="../../etc/passwd")
    before = set(os.listdir(tmp_path.parent))
    code, reply = send(smtp_port, mail.as_bytes(), ["contact@city.example"])
    assert code == 250
    case = case_of(services, reply.decode().split()[-1])
    [message] = messages_of(services, case.id or 0)
    assert "\x00" not in message.text and "hello there" in message.text
    with services.database.read() as session:
        stored = session.execute(select(Attachment).where(
            col(Attachment.message_id) == message.id)).scalars().all()
    names = {a.filename: a.sha256 for a in stored}
    assert set(names) == {"passwd", "original.eml"}
    assert services.files.get(names["passwd"]) == b"root:x:0:0"
    assert set(os.listdir(tmp_path.parent)) == before  # nothing written beside the data
    assert not (services.config.data_dir.parent.parent / "etc").exists()


def test_deeply_nested_mail_is_refused_with_a_reason(
        services: Services, smtp_port: int) -> None:
    raw = b"From: ann@mail.example\r\nSubject: x\r\n\r\nhello\r\n"
    for level in range(3000):
        raw = (b"From: ann@mail.example\r\nSubject: %d\r\n"
               b"Content-Type: message/rfc822\r\n\r\n" % level) + raw
    code, reply = send(smtp_port, raw, ["contact@city.example"])
    assert code == 554 and b"nested too deeply" in reply
    with services.database.read() as session:
        assert session.execute(select(Message)).first() is None


def test_starttls_with_the_configured_certificate(services: Services, tmp_path: Path) -> None:
    import dataclasses
    import ssl
    import subprocess

    from channels.email.server import SmtpService
    from tests.conftest import free_port

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    config = services.config.with_values(smtp__tls_cert=str(cert), smtp__tls_key=str(key))
    server = SmtpService(dataclasses.replace(services, config=config), port=free_port())
    server.start()
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        with smtplib.SMTP("127.0.0.1", server.port, timeout=30) as client:
            client.ehlo()
            assert client.has_extn("starttls")
            client.starttls(context=context)
            client.ehlo()
            refused = client.sendmail("ann@mail.example", ["contact@city.example"],
                                      make_mail().as_bytes())
    finally:
        server.stop()
    assert refused == {}
    with services.database.read() as session:
        assert len(session.execute(select(Case)).all()) == 1


def test_a_half_configured_certificate_names_the_setting(services: Services) -> None:
    import dataclasses

    from channels.email.server import SmtpService
    from settings import ConfigError

    config = services.config.with_values(smtp__tls_cert="/nonexistent/cert.pem")
    with pytest.raises(ConfigError) as caught:
        SmtpService(dataclasses.replace(services, config=config))
    assert caught.value.key == "smtp.tls_key"
