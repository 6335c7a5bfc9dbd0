"""The case page on both databases: what it shows, who may open it, notes, status changes,
transfer and return, collision warning, files by hash, and bad input changing nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlmodel import col, select
from werkzeug.http import parse_options_header

from caseboard.case_models import CaseLink
from caseboard.contacts import IncomingAttachment
from caseboard.models import AuditEvent, Message
from caseboard.services import Services
from tests.caseboard.board_case_support import (
    MOULD,
    alice_fixture,  # noqa: F401
    case_row,
    count,
    form_value,
    new_case,
    people_fixture,  # noqa: F401
    signed_fixture,  # noqa: F401
)

Client = FlaskClient


def test_page_shows_timeline_citizen_clocks_and_audit(services: Services, alice: Client) -> None:
    reference = new_case(services)
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert MOULD in page
    assert "Arthur Dent" in page and "email: arthur@mail.example" in page
    assert "First response: due" in page and "Resolution: due" in page
    assert "created" in page  # the intake's audit event
    assert "Damp and mould" in page  # a suggested article for the mould text


def test_citizen_text_is_escaped(services: Services, alice: Client) -> None:
    payload = "<script>window.__xss_ran=1</script><img src=x onerror=alert(1)>"
    reference = new_case(services, text=f"Mould {payload}", subject=f"Mould {payload}",
                         name=f"<b>{payload}</b>")
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "<script>window.__xss_ran" not in page and "<img src=x" not in page
    assert "&lt;script&gt;window.__xss_ran=1&lt;/script&gt;" in page


def test_another_departments_case_is_refused(services: Services,
                                             signed: Callable[[str], Client]) -> None:
    reference = new_case(services)
    dave = signed("dave")
    answer = dave.get(f"/board/case/{reference}")
    assert answer.status_code == 403
    assert "housing department, which you do not work for" in answer.get_data(as_text=True)
    token = "x" * 20
    refused = dave.post(f"/board/case/{reference}/note", data={
        "csrf_token": form_value(dave.get("/board/me").get_data(as_text=True), "csrf_token"),
        "note": "sneaky", "form_token": token})
    assert refused.status_code == 403
    assert count(services, Message, direction="note") == 0
    assert signed("bob").get(f"/board/case/{reference}").status_code == 200  # supervisor
    assert dave.get("/board/case/CC-2026-999999").status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(services: Services, client: Client,
                                               people: None) -> None:
    reference = new_case(services)
    answer = client.get(f"/board/case/{reference}")
    assert answer.status_code == 302 and "/login" in answer.location


def _note(client: Client, reference: str, text: str, token: str | None = None) -> tuple[int, str]:
    page = client.get(f"/board/case/{reference}").get_data(as_text=True)
    answer = client.post(f"/board/case/{reference}/note", data={
        "csrf_token": form_value(page, "csrf_token"), "note": text,
        "form_token": token or form_value(page, "form_token", 1)})
    return answer.status_code, answer.get_data(as_text=True)


def test_note_is_saved_once_even_when_submitted_twice(services: Services, alice: Client) -> None:
    reference = new_case(services)
    status, _ = _note(alice, reference, "Called the landlord", token="tok-note-1")
    again, _ = _note(alice, reference, "Called the landlord", token="tok-note-1")
    assert status == again == 303
    assert count(services, Message, direction="note") == 1
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "internal note by alice" in page and "Called the landlord" in page


def test_over_long_note_is_refused_and_nothing_written(services: Services,
                                                       alice: Client) -> None:
    reference = new_case(services)
    before = case_row(services, reference).updated_at
    status, page = _note(alice, reference, "x" * 4001)
    assert status == 400 and "The note is too long (4001 characters; at most 4000)" in page
    assert count(services, Message, direction="note") == 0
    assert case_row(services, reference).updated_at == before


def test_forged_csrf_token_is_refused(services: Services, alice: Client) -> None:
    reference = new_case(services)
    answer = alice.post(f"/board/case/{reference}/note", data={
        "csrf_token": "forged", "note": "hello", "form_token": "tok-forged"})
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)
    assert count(services, Message, direction="note") == 0


def _act(client: Client, reference: str, **data: str) -> tuple[int, str]:
    page = client.get(f"/board/case/{reference}").get_data(as_text=True)
    answer = client.post(f"/board/case/{reference}/action",
                         data={"csrf_token": form_value(page, "csrf_token"), **data})
    return answer.status_code, answer.get_data(as_text=True)


def test_status_changes_follow_the_workflow(services: Services, alice: Client) -> None:
    reference = new_case(services)
    assert case_row(services, reference).status == "dispatched"
    assert _act(alice, reference, action="accept")[0] == 303
    assert _act(alice, reference, action="start")[0] == 303
    assert case_row(services, reference).status == "in_progress"
    status, page = _act(alice, reference, action="close")
    assert status == 400 and "cannot close a case that is in progress" in page
    assert case_row(services, reference).status == "in_progress"
    with services.database.read() as session:
        actions = session.execute(select(AuditEvent.action).where(
            col(AuditEvent.actor) == "alice", col(AuditEvent.case_id).is_not(None))
        ).scalars().all()
    assert list(actions) == ["accept", "start"]


def test_transfer_and_return_to_triage(services: Services, alice: Client) -> None:
    reference = new_case(services)
    status, page = _act(alice, reference, action="transfer", department="roads", reason="")
    assert status == 400 and "transfer needs a reason" in page
    status, _ = _act(alice, reference, action="return", reason_code="not_our_service",
                     reason="this is for roads")
    assert status == 303
    case = case_row(services, reference)
    assert (case.department_id, case.status, case.return_count) == ("triage", "new", 1)
    # alice is also a dispatcher (triage): she dispatches, then roads has it and she loses it
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    answer = alice.post(f"/board/case/{reference}/action", data={
        "csrf_token": form_value(page, "csrf_token"), "action": "dispatch",
        "department": "waste"})
    assert answer.status_code == 303 and answer.location.endswith("/board")
    assert case_row(services, reference).department_id == "waste"
    assert alice.get(f"/board/case/{reference}").status_code == 403  # not hers any more


def test_two_agents_see_each_other_on_the_case(services: Services,
                                               signed: Callable[[str], Client]) -> None:
    reference = new_case(services)
    alice, bob = signed("alice"), signed("bob")
    alice.get(f"/board/case/{reference}")
    page = bob.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "Also looking at this case now:" in page and ">alice<" in page
    csrf = form_value(page, "csrf_token")
    beat = alice.post(f"/board/case/{reference}/viewing", headers={"X-CSRFToken": csrf})
    assert beat.status_code == 400  # alice's own session token is needed
    alice_page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    beat = alice.post(f"/board/case/{reference}/viewing",
                      headers={"X-CSRFToken": form_value(alice_page, "csrf_token")})
    assert beat.get_json()["viewers"] == ["bob"]
    assert beat.get_json()["version"] == case_row(services, reference).updated_at.isoformat()


def test_attachments_download_by_hash_and_never_run(services: Services, alice: Client) -> None:
    evil = IncomingAttachment('<img src=x onerror=alert(1)>.html', "text/html",
                              b"<script>alert(1)</script>")
    reference = new_case(services, attachments=(evil,))
    other = new_case(services, external_id="<other@x>", email="zaphod@mail.example")
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    digest = hashlib.sha256(b"<script>alert(1)</script>").hexdigest()
    answer = alice.get(f"/board/case/{reference}/file/{digest}")
    assert answer.status_code == 200 and answer.data == b"<script>alert(1)</script>"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert answer.mimetype == "application/octet-stream"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert alice.get(f"/board/case/{other}/file/{digest}").status_code == 404


def test_call_recordings_and_letter_scans_on_the_timeline(services: Services,
                                                          alice: Client) -> None:
    reference = new_case(services)
    scan = services.files.put(b"\x89PNG\r\n\x1a\nfake scan")
    page_two = services.files.put(b"\x89PNG\r\n\x1a\npage two")
    case = case_row(services, reference)
    with services.database.write() as session:
        session.add(Message(case_id=case.id or 0, direction="in", channel="phone",
                            text="(call)", details={"recording": {
                                "url": "javascript:alert(1)", "duration": 42,
                                "transcript": "the mould is back <b>again</b>"}}))
        session.add(Message(case_id=case.id or 0, direction="in", channel="letter",
                            text="letter", details={"letter": {"scan_sha256": scan, "pages": [
                                {"number": 1, "text": "Dear council, mould", "confidence": 0.61,
                                 "check_text": True},
                                {"number": 2, "text": "Yours, A.", "confidence": 0.9,
                                 "check_text": False, "image_sha256": page_two}]}}))
        session.add(Message(case_id=case.id or 0, direction="note", channel="webchat",
                            subject="Chat transcript", text="(transcript)", details={
                                "chat_transcript": [{"at": "2026-12-02T10:01:02", "author":
                                                     "citizen", "name": "Arthur <i>D</i>",
                                                     "text": "Is anyone there?"}]}))
        session.add(Message(case_id=case.id or 0, direction="in", channel="phone",
                            text="(call 2)", details={"recording": {
                                "url": "https://api.twilio.com/rec/RE1.mp3", "duration": 7}}))
    page = alice.get(f"/board/case/{reference}").get_data(as_text=True)
    assert "Call recording (42 s)" in page and "javascript:alert" not in page
    assert "Transcript: the mould is back &lt;b&gt;again&lt;/b&gt;" in page
    assert 'src="https://api.twilio.com/rec/RE1.mp3"' in page
    assert "Page 1 (OCR confidence 0.61), check this text:" in page
    scan_url = f"/board/case/{reference}/file/{scan}"
    assert f'src="{scan_url}"' in page
    assert f'src="/board/case/{reference}/file/{page_two}"' in page
    assert "<strong>Arthur &lt;i&gt;D&lt;/i&gt;</strong>" in page and "Is anyone there?" in page
    assert alice.get(f"/board/case/{reference}/file/{page_two}").status_code == 200
    answer = alice.get(scan_url)
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    assert answer.headers["Content-Disposition"].startswith("inline;")


def test_a_chinese_attachment_name_survives_the_download(services: Services,
                                                         alice: Client) -> None:
    files = (IncomingAttachment("说明 文件.txt", "text/plain", "请看附件".encode()),
             IncomingAttachment("café.txt", "text/plain", b"menu"),
             IncomingAttachment("plain.txt", "text/plain", b"plain"))
    reference = new_case(services, attachments=files)
    names = {}
    for data in (f.data for f in files):
        answer = alice.get(f"/board/case/{reference}/file/{hashlib.sha256(data).hexdigest()}")
        assert answer.status_code == 200 and answer.data == data
        assert answer.mimetype == "application/octet-stream"  # still never shown inline
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in answer.headers["Content-Security-Policy"]
        header = answer.headers["Content-Disposition"]
        assert header.isascii()
        kind, options = parse_options_header(header)  # as a browser reads filename*
        assert kind == "attachment"
        names[data] = (options["filename"], header)
    assert names["请看附件".encode()][0] == "说明 文件.txt"
    assert 'filename="__ __.txt"' in names["请看附件".encode()][1]  # for old clients
    assert names[b"menu"][0] == "café.txt" and 'filename="cafe.txt"' in names[b"menu"][1]
    assert names[b"plain"][1] == 'attachment; filename="plain.txt"'


def test_linking_to_another_departments_case_is_refused(services: Services,
                                                         signed: Callable[[str], Client]
                                                         ) -> None:
    mine = new_case(services)
    roads = new_case(services, external_id="<pothole@x>", email="ford@mail.example",
                     subject="Secret pothole on Vogon Way", department="roads",
                     text="A deep pothole on Vogon Way.")
    alice = signed("alice")
    page = alice.get(f"/board/case/{mine}").get_data(as_text=True)
    answer = alice.post(f"/board/case/{mine}/link", data={
        "csrf_token": form_value(page, "csrf_token"), "other": roads})
    assert answer.status_code == 403
    assert count(services, CaseLink) == 0
    assert count(services, AuditEvent, case_id=case_row(services, roads).id,
                 action="linked") == 0
    shown = alice.get(f"/board/case/{mine}").get_data(as_text=True)
    assert "Secret pothole" not in shown
    bob = signed("bob")  # a supervisor sees both departments and may link them
    page = bob.get(f"/board/case/{mine}").get_data(as_text=True)
    assert bob.post(f"/board/case/{mine}/link", data={
        "csrf_token": form_value(page, "csrf_token"), "other": roads}).status_code == 303
    assert "Secret pothole" in bob.get(f"/board/case/{mine}").get_data(as_text=True)
    shown = alice.get(f"/board/case/{mine}").get_data(as_text=True)
    links = shown.split('id="links"', 1)[1].split("</ul>", 1)[0]
    assert roads in links and "Secret pothole" not in links  # the reference, nothing more
    assert f'href="/board/case/{roads}"' not in links
