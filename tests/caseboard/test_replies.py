"""Answering from the case page on both databases: KB suggestions, preview per channel, Send
through the outbox in one transaction, delivery status on the timeline, and replies that
must not be written twice or sent on a case that changed meanwhile."""

from __future__ import annotations

import datetime as dt
import re

from flask.testing import FlaskClient
from sqlmodel import col, select

from caseboard.models import Citizen, Message, OutboxItem
from caseboard.outbox import Dispatcher, OutgoingMessage, PermanentSendError, RetryableSendError
from caseboard.services import Services
from tests.caseboard.board_case_support import (
    alice_fixture,  # noqa: F401
    case_row,
    count,
    form_value,
    new_case,
    people_fixture,  # noqa: F401
)

Client = FlaskClient


def _preview(client: Client, reference: str, **data: str) -> tuple[int, str]:
    page = client.get(f"/board/case/{reference}").get_data(as_text=True)
    answer = client.post(f"/board/case/{reference}/preview", data={
        "csrf_token": form_value(page, "csrf_token"),
        "form_token": form_value(page, "form_token"), "version": form_value(page, "version"),
        **data})
    return answer.status_code, answer.get_data(as_text=True)


def _send_from(client: Client, reference: str, preview_page: str, **data: str) -> int:
    answer = client.post(f"/board/case/{reference}/reply", data={
        "csrf_token": form_value(preview_page, "csrf_token"),
        "form_token": form_value(preview_page, "form_token"),
        "version": form_value(preview_page, "version"),
        "previewed": form_value(preview_page, "previewed"), **data})
    return answer.status_code


def _replies(services: Services) -> list[Message]:
    with services.database.read() as session:
        return list(session.execute(select(Message).where(col(Message.direction) == "out")
                                    .order_by(col(Message.id))).scalars())


def _reply_items(services: Services) -> list[OutboxItem]:
    with services.database.read() as session:
        return list(session.execute(select(OutboxItem).where(col(OutboxItem.kind) == "reply")
                                    ).scalars())


def test_insert_article_preview_then_send_once(services: Services, alice: Client) -> None:
    reference = new_case(services)
    status, page = _preview(alice, reference, insert="damp-and-mould:en", channel="email",
                            text="I have asked our repairs team to visit.")
    assert status == 200 and 'id="preview-text"' in page
    published = services.kb.published("damp-and-mould", "en")
    assert published is not None
    for fact in published.version.key_facts:  # every key fact reaches the citizen
        assert fact.replace("'", "&#39;") in page
    assert "I have asked our repairs team to visit." in page
    assert f"[{reference}]" in page  # the subject carries the reference
    data = {"article": "damp-and-mould:en", "channel": "email",
            "text": "I have asked our repairs team to visit."}
    assert _send_from(alice, reference, page, **data) == 303
    assert _send_from(alice, reference, page, **data) == 303  # the double click
    replies, items = _replies(services), _reply_items(services)
    assert len(replies) == 1 and len(items) == 1
    reply, item = replies[0], items[0]
    assert (reply.article_slug, reply.article_version) == ("damp-and-mould",
                                                           published.version.number)
    assert reply.delivery_status == "queued" and item.message_id == reply.id
    assert item.recipient == "arthur@mail.example" and item.payload["text"] == reply.text
    assert "I have asked our repairs team to visit." in item.payload["text"]
    assert case_row(services, reference).first_response_at is not None
    timeline = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "This reply was already sent: it was not sent again." in timeline
    assert "article damp-and-mould v" in timeline and "Delivery: <strong" in timeline


def test_sms_to_an_email_citizen_with_a_phone(services: Services, alice: Client) -> None:
    reference = new_case(services, phone="+447700900123")
    status, page = _preview(alice, reference, channel="sms", text="We will visit on Monday.")
    assert status == 200
    assert "We will visit on Monday. Ref " + reference in page and "1 SMS part" in page
    assert _send_from(alice, reference, page, channel="sms",
                      text="We will visit on Monday.") == 303
    assert [i.recipient for i in _reply_items(services)] == ["+447700900123"]


def test_a_letter_reply_goes_to_the_citizens_postal_address(services: Services,
                                                             alice: Client) -> None:
    reference = new_case(services)
    status, page = _preview(alice, reference, channel="letter", text="We will visit.")
    assert status == 400 and "cannot be reached by letter" in page  # no address known yet
    with services.database.write() as session:
        citizen = session.get(Citizen, case_row(services, reference).citizen_id)
        assert citizen is not None
        citizen.address = "12 Willow Crescent, Example EX2 4PQ"
    status, page = _preview(alice, reference, channel="letter", text="We will visit.")
    assert status == 200 and "We will visit." in page
    assert _send_from(alice, reference, page, channel="letter", text="We will visit.") == 303
    assert [i.recipient for i in _reply_items(services)] == [
        "12 Willow Crescent, Example EX2 4PQ"]


def test_channel_the_citizen_lacks_and_empty_reply_are_refused(services: Services,
                                                               alice: Client) -> None:
    reference = new_case(services)
    status, page = _preview(alice, reference, channel="sms", text="hello")
    assert status == 400 and "the citizen cannot be reached by sms" in page
    status, page = _preview(alice, reference, channel="email", text="  ")
    assert status == 400 and "write a reply or insert an article" in page
    status, page = _preview(alice, reference, channel="email", text="x" * 10_001)
    assert status == 400 and "the reply is too long" in page
    assert _replies(services) == []


def test_reply_on_a_case_changed_since_loading_asks_to_look_again(services: Services,
                                                                  alice: Client) -> None:
    reference = new_case(services)
    _, page = _preview(alice, reference, channel="email", text="Fixed soon.")
    new_case(services, external_id="<follow@x>", subject=f"Re: {reference}",
             text=f"{reference}: now the kitchen too")  # the citizen writes again meanwhile
    answer = alice.post(f"/board/case/{reference}/reply", data={
        "csrf_token": form_value(page, "csrf_token"), "form_token": form_value(page, "form_token"),
        "version": form_value(page, "version"), "channel": "email", "text": "Fixed soon."})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "this case changed since you opened it" in text
    assert "Changed since you opened the case" in text and "now the kitchen too" in text
    assert "Fixed soon." in text  # the draft is kept
    assert _replies(services) == [] and _reply_items(services) == []


def test_delivery_status_follows_the_outbox(services: Services, alice: Client) -> None:
    reference = new_case(services)
    _, page = _preview(alice, reference, channel="email", text="On it.")
    assert _send_from(alice, reference, page, channel="email", text="On it.") == 303
    calls: list[int] = []

    def flaky(message: OutgoingMessage) -> str:
        calls.append(message.outbox_id)
        if message.kind != "reply":
            return "ack"
        if len(calls) < 3:
            raise RetryableSendError("relay down")
        raise PermanentSendError("550 mailbox unavailable")

    dispatcher = Dispatcher(services.database, 5, {"email": flaky})
    now = dt.datetime.now(dt.UTC)
    while dispatcher.send_one(now):
        pass
    shown = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "retrying: relay down" in shown and "(retried)" not in shown
    dispatcher.send_one(now + dt.timedelta(hours=1))
    dispatcher.send_one(now + dt.timedelta(hours=2))
    reply = _replies(services)[-1]
    assert (reply.delivery_status, reply.delivery_error) == ("failed", "550 mailbox unavailable")
    shown = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert 'class="status-failed">failed' in shown and "550 mailbox unavailable" in shown
    assert "(retried)" in shown
    assert count(services, OutboxItem, kind="reply", status="failed") == 1


def test_reply_without_the_case_version_is_refused(services: Services, alice: Client) -> None:
    reference = new_case(services)
    _, page = _preview(alice, reference, channel="email", text="Fixed soon.")
    answer = alice.post(f"/board/case/{reference}/reply", data={
        "csrf_token": form_value(page, "csrf_token"), "form_token": form_value(page, "form_token"),
        "channel": "email", "text": "Fixed soon."})
    assert answer.status_code == 400
    assert "which version of the case you saw" in answer.get_data(as_text=True)
    assert _replies(services) == []


def test_reply_edited_after_the_preview_is_previewed_again(services: Services,
                                                           alice: Client) -> None:
    reference = new_case(services)
    _, page = _preview(alice, reference, channel="email", text="Fixed soon.")
    answer = alice.post(f"/board/case/{reference}/reply", data={
        "csrf_token": form_value(page, "csrf_token"), "form_token": form_value(page, "form_token"),
        "version": form_value(page, "version"), "previewed": form_value(page, "previewed"),
        "channel": "email", "text": "Fixed tomorrow."})
    shown = answer.get_data(as_text=True)
    assert answer.status_code == 409 and "not the one you previewed" in shown
    assert "Fixed tomorrow." in shown.split('id="preview-text"')[1]  # the new preview
    assert _replies(services) == []
    assert _send_from(alice, reference, shown, channel="email", text="Fixed tomorrow.") == 303
    assert "Fixed tomorrow." in _replies(services)[0].text


def _send_by(page: str) -> tuple[str, list[str]]:
    """The Send by list: the pre-selected value and every value offered."""
    select_list = page.split('id="channel"', 1)[1].split("</select>", 1)[0]
    values = re.findall(r'<option value="([^"]*)"', select_list)
    chosen = re.findall(r'<option value="([^"]*)" selected', select_list)
    assert len(chosen) == 1, select_list
    return chosen[0], values


def test_every_address_is_offered_and_the_latest_contacts_is_chosen(services: Services,
                                                                    alice: Client) -> None:
    new_case(services, email="old-address@example.org", phone="+447700900321")
    reference = new_case(services, external_id="<new@x>", email="new-address@example.org",
                         phone="07700 900321", subject="New address",
                         text="My old email no longer works, please write to this one.")
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    chosen, offered = _send_by(page)
    assert chosen == "email:new-address@example.org"  # where the citizen wrote from
    assert "email:old-address@example.org" in offered  # still offered, not chosen
    assert "sms:+447700900321" in offered
    status, shown = _preview(alice, reference, channel=chosen, text="Noted, thank you.")
    assert status == 200 and 'id="preview-recipient">new-address@example.org' in shown
    assert _send_from(alice, reference, shown, channel=chosen, text="Noted, thank you.") == 303
    status, shown = _preview(alice, reference, channel="email:old-address@example.org",
                             text="A copy to your old address.")
    assert status == 200
    assert _send_from(alice, reference, shown, channel="email:old-address@example.org",
                      text="A copy to your old address.") == 303
    assert [i.recipient for i in _reply_items(services)] == [
        "new-address@example.org", "old-address@example.org"]


def test_an_address_the_citizen_does_not_have_is_refused(services: Services,
                                                          alice: Client) -> None:
    reference = new_case(services)
    status, page = _preview(alice, reference, channel="email:mallory@evil.example", text="Hi")
    assert status == 400 and "cannot be reached at mallory@evil.example by email" in page
    status, page = _preview(alice, reference, channel="email", text="Hi")  # its first address
    assert status == 200
    assert _send_from(alice, reference, page, channel="email:mallory@evil.example",
                      text="Hi") == 400
    assert _replies(services) == []


def test_a_preview_for_one_address_does_not_send_to_another(services: Services,
                                                            alice: Client) -> None:
    new_case(services, email="old-address@example.org", phone="+447700900321")
    reference = new_case(services, external_id="<two@x>", email="new-address@example.org",
                         phone="+447700900321")
    _, shown = _preview(alice, reference, channel="email:new-address@example.org", text="Hi")
    answer = alice.post(f"/board/case/{reference}/reply", data={
        "csrf_token": form_value(shown, "csrf_token"),
        "form_token": form_value(shown, "form_token"), "version": form_value(shown, "version"),
        "previewed": form_value(shown, "previewed"),
        "channel": "email:old-address@example.org", "text": "Hi"})
    assert answer.status_code == 409  # previewed for new-address: look at the preview again
    assert _replies(services) == []
