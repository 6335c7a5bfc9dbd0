"""Signing in and out in a real browser: the pages, cookies and CSRF tokens work together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import XSS_MARKER, assert_no_script_ran, xss_payloads


def test_alice_signs_in_sets_presence_and_signs_out(
        signed_in_page: Callable[[str], Any]) -> None:
    page = signed_in_page("alice")
    page.goto("/board/me")
    page.select_option("#new-presence", "away")
    page.click("button:has-text('Save')")
    assert page.inner_text("#presence") == "away"  # saved through the CSRF-protected form
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"


def test_a_wrong_password_stays_on_the_login_page(new_page: Callable[[], Any]) -> None:
    page = new_page()
    page.goto("/board/me")
    assert "/login" in page.url  # the board needs a signed-in user
    page.fill("#username", "alice")
    page.fill("#password", "not-her-password")
    page.click("button:has-text('Sign in')")
    assert "/login" in page.url
    assert page.get_by_role("alert").is_visible()


def test_the_script_detector_catches_a_payload_that_runs(new_page: Callable[[], Any]) -> None:
    """The guard the no-script tests rely on must notice a payload that does execute."""
    page = new_page()
    page.set_content(f"<p>{xss_payloads()['img']}</p>")
    page.wait_for_function(f"() => window.{XSS_MARKER} === 1")
    with pytest.raises(AssertionError):
        assert_no_script_ran(page)
