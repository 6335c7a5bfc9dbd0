"""An agent's reply in their own words speaks the case's language around those words: the
greeting, the reference line and the sign-off, on email (through the real email transport,
written as .eml files as in the demo without a relay), letter and SMS, on both databases."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

from flask.testing import FlaskClient

from caseboard.models import Case, Citizen
from caseboard.outbox import Dispatcher
from caseboard.services import Services
from channels.email.outbound import EmailTransport
from tests.caseboard.board_case_support import (
    alice_fixture,  # noqa: F401
    case_row,
    form_value,
    people_fixture,  # noqa: F401
)

Client = FlaskClient
Headers = Callable[[str], dict[str, str]]


def api_contact(client: Client, token_for: Headers, language: str, name: str, text: str,
                subject: str = "") -> str:
    """A contact through the JSON API with an email sender, for the housing department."""
    answer = client.post("/api/v1/contacts", headers=token_for("intake"), json={
        "channel": "api", "external_id": f"qa-{language}-{len(text)}",
        "sender": {"name": name, "email": f"{language}-citizen@mail.example",
                   "phone": "+447700900555"},
        "subject": subject, "text": text, "language": language, "department": "housing"})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    reference = answer.get_json()["reference"]
    assert isinstance(reference, str)
    return reference


def act(client: Client, reference: str, action: str) -> None:
    page = client.get(f"/board/case/{reference}").get_data(as_text=True)
    answer = client.post(f"/board/case/{reference}/action", data={
        "csrf_token": form_value(page, "csrf_token"), "action": action})
    assert answer.status_code == 303, answer.get_data(as_text=True)


def preview(client: Client, reference: str, channel: str, text: str) -> str:
    page = client.get(f"/board/case/{reference}").get_data(as_text=True)
    answer = client.post(f"/board/case/{reference}/preview", data={
        "csrf_token": form_value(page, "csrf_token"), "form_token": form_value(page, "form_token"),
        "version": form_value(page, "version"), "channel": channel, "text": text})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def send(client: Client, reference: str, channel: str, text: str) -> None:
    shown = preview(client, reference, channel, text)
    answer = client.post(f"/board/case/{reference}/reply", data={
        "csrf_token": form_value(shown, "csrf_token"),
        "form_token": form_value(shown, "form_token"), "version": form_value(shown, "version"),
        "previewed": form_value(shown, "previewed"), "channel": channel, "text": text})
    assert answer.status_code == 303, answer.get_data(as_text=True)


def mails_written(services: Services) -> list[EmailMessage]:
    """Send everything queued through the real email transport (no relay: .eml files)."""
    dispatcher = Dispatcher(services.database, 3, {
        "email": EmailTransport(services.config, services.database)})
    while dispatcher.send_one():
        pass
    folder: Path = services.config.data_dir / "outbox-mail"
    mails = []
    for path in sorted(folder.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        mails.append(parsed)
    return mails


def reply_mail(services: Services, reference: str) -> tuple[str, str]:
    """The subject and plain text of the one reply mailed (not the acknowledgement)."""
    replies = [m for m in mails_written(services)
               if m["Auto-Submitted"] is None and reference in str(m["Subject"])]
    assert len(replies) == 1, [str(m["Subject"]) for m in replies]
    body = replies[0].get_body(("plain",))
    assert body is not None
    return str(replies[0]["Subject"]), body.get_content()


def preview_text(page: str) -> str:
    return page.split('id="preview-text">', 1)[1].split("</", 1)[0]


def test_a_chinese_case_gets_its_agents_own_words_in_a_chinese_mail(
        services: Services, alice: Client, client: Client, token_for: Headers) -> None:
    reference = api_contact(client, token_for, "zh", "王小明", "我家楼上漏水，天花板发霉了。")
    assert case_row(services, reference).language == "zh"
    act(alice, reference, "accept")
    act(alice, reference, "start")
    send(alice, reference, "email", "维修人员将于周一上门检查。")
    subject, text = reply_mail(services, reference)
    assert text.startswith("尊敬的王小明：")
    assert f"您的受理编号：{reference}" in text and "维修人员将于周一上门检查。" in text
    assert "此致\n敬礼！\nAlice Agent" in text
    for english in ("Dear", "Your reference", "Kind regards", "Hello"):
        assert english not in text
    assert subject == f"[{reference}] 我家楼上漏水，天花板发霉了。"


def test_an_english_case_keeps_its_english_mail(services: Services, alice: Client,
                                                client: Client, token_for: Headers) -> None:
    reference = api_contact(client, token_for, "en", "Arthur Dent",
                            "Water is coming through my ceiling.", subject="Leak")
    act(alice, reference, "accept")
    act(alice, reference, "start")
    send(alice, reference, "email", "Our plumber will call on Monday.")
    subject, text = reply_mail(services, reference)
    assert text.startswith("Dear Arthur Dent,")
    assert f"Your reference: {reference}" in text and "Our plumber will call on Monday." in text
    assert "Kind regards,\nAlice Agent" in text
    assert "尊敬" not in text and "此致" not in text
    assert subject == f"[{reference}] Leak"


def test_letter_and_sms_wrap_the_agents_words_in_the_cases_language(
        services: Services, alice: Client, client: Client, token_for: Headers) -> None:
    reference = api_contact(client, token_for, "zh", "王小明", "垃圾桶三天没人收了。")
    with services.database.write() as session:
        citizen = session.get(Citizen, case_row(services, reference).citizen_id)
        assert citizen is not None
        citizen.address = "12 Willow Crescent, Example EX2 4PQ"
        case = session.get(Case, case_row(services, reference).id)
        assert case is not None
        case.subject = ""  # a contact that left no subject at all
    letter = preview_text(preview(alice, reference, "letter", "我们明天来收。"))
    assert letter.startswith(f"您的受理编号：{reference}")
    assert "尊敬的王小明：" in letter and "此致\n敬礼！" in letter
    assert "Yours" not in letter and "Your reference" not in letter
    mail = preview(alice, reference, "email", "我们明天来收。")
    assert f'id="preview-subject">[{reference}] 您的案件<' in mail
    sms = preview_text(preview(alice, reference, "sms", "我们明天来收。"))
    assert sms == f"我们明天来收。 编号{reference}"
