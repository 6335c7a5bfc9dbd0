"""Alice answers a case in Chromium: take it, insert an article, preview, send; the reply
goes through the outbox. Bob and alice on the same case see each other."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import col, select

from caseboard.contacts import InboundContact, Sender
from caseboard.models import Message, OutboxItem
from tests.browser.conftest import LiveServer, assert_no_script_ran


def _mould_case(live_server: LiveServer) -> str:
    marker = uuid.uuid4().hex[:8]
    result = live_server.services.intake.take(InboundContact(
        "email", f"<flow-{marker}@mail.example>",
        Sender("Flow Citizen", email=f"flow-{marker}@mail.example"),
        text="There is black mould on the bedroom wall of my council flat.",
        subject=f"Mould {marker}", language="en", explicit_department="housing"))
    return result.reference


def _available(page: Any) -> None:
    page.goto("/board/me")
    page.select_option("#new-presence", "available")
    page.click("button:has-text('Save')")


def test_alice_takes_a_case_inserts_an_article_previews_and_sends(
        live_server: LiveServer, signed_in_page: Callable[[str], Any]) -> None:
    reference = _mould_case(live_server)
    page = signed_in_page("alice")
    _available(page)
    page.goto(f"/board/case/{reference}")
    page.click("#take-case")
    assert page.locator("#case-assignee").inner_text() == "alice"
    page.click("button.status-action:has-text('Accept')")
    assert page.locator("#case-status").inner_text() == "accepted"
    page.fill("#reply-text", "Our repairs team will call you this week.")
    page.locator("#suggestions button.insert-article").first.click()
    preview = page.locator("#preview-text").inner_text()
    assert "Our repairs team will call you this week." in preview
    assert reference in page.locator("#preview-subject").inner_text()
    page.click("#send-button")
    page.locator("text=Reply queued for sending.").wait_for()
    with live_server.services.database.read() as session:
        reply = session.execute(select(Message).where(
            col(Message.direction) == "out", col(Message.text).contains("repairs team will"))
        ).scalar_one()
        item = session.execute(select(OutboxItem).where(
            col(OutboxItem.message_id) == reply.id)).scalar_one()
    assert item.kind == "reply" and reply.article_slug and reply.text == preview
    # The live dispatcher sends it (to a file, with no relay): the timeline says so.
    for _ in range(20):
        page.reload()
        status = page.locator(f"#message-{reply.id} .delivery strong").inner_text()
        if status == "sent":
            break
        page.wait_for_timeout(250)
    assert status == "sent"
    assert page.locator("#case-status").inner_text() == "answered"
    assert_no_script_ran(page)


def test_two_agents_on_one_case_see_each_other(
        live_server: LiveServer, signed_in_page: Callable[[str], Any]) -> None:
    reference = _mould_case(live_server)
    bob = signed_in_page("bob")
    bob.goto(f"/board/case/{reference}")
    alice = signed_in_page("alice")
    alice.goto(f"/board/case/{reference}")
    assert "bob" in alice.locator("#viewer-names").inner_text()  # at once, from the server
    bob.locator("#viewers").wait_for(state="visible", timeout=12_000)  # bob's page, live
    assert "alice" in bob.locator("#viewer-names").inner_text()
    assert_no_script_ran(alice)
    assert_no_script_ran(bob)
