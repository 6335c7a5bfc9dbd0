"""The letters page tells the agent what became of an upload: a file that is no scan is
refused on the page itself, saying which types are taken, and a scan that could not become a
case (here a real typewritten recipe with no sender address) is listed with its reason."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from caseboard.services import Services
from channels.letters.inbox import inbox_dir, process_file, quarantine_dir
from tests.channels.letters.conftest import SCANS
from tests.channels.letters.test_reply_letters import _sign_in


def _upload(client: FlaskClient, csrf: str, data: bytes, name: str) -> tuple[int, str]:
    # Encoded here, in memory: the test client spools a large body to a file it never closes.
    boundary, body = encode_multipart(MultiDict([
        ("csrf_token", csrf),
        ("scan", FileStorage(io.BytesIO(data), name, content_type="application/octet-stream"))]))
    answer = client.post("/board/letters/upload", data=body,
                         content_type=f"multipart/form-data; boundary={boundary}",
                         follow_redirects=True)
    return answer.status_code, answer.get_data(as_text=True)


def test_a_file_that_is_no_scan_is_refused_on_the_letters_page(client: FlaskClient,
                                                                services: Services) -> None:
    csrf = _sign_in(client, services)
    status, page = _upload(client, csrf, b"Dear council, see attached.", "notes.txt")
    assert status == 400
    assert "<h1>Letters</h1>" in page and 'action="/board/letters/upload"' in page
    error = re.search(r'id="upload-error"[^>]*>([^<]*)<', page)
    assert error is not None
    assert error.group(1) == ("notes.txt is not a scanned letter: the board takes PDF, TIFF, "
                              "PNG or JPEG files.")
    status, page = _upload(client, csrf, b"", "empty.png")
    assert status == 400 and 'id="upload-error"' in page and "The file is empty." in page
    assert not inbox_dir(services).exists() or list(inbox_dir(services).iterdir()) == []


def test_a_scan_without_a_sender_is_listed_as_needing_a_person(client: FlaskClient,
                                                                services: Services) -> None:
    csrf = _sign_in(client, services)
    scan = (SCANS / "en" / "ocrmypdf_typewriter.png").read_bytes()
    status, page = _upload(client, csrf, scan, "typewriter.png")
    assert status == 200 and "typewriter.png is in the inbox" in page
    waiting = re.search(r'<ul id="letters-waiting">(.*?)</ul>', page, re.S)
    assert waiting is not None and "typewriter.png" in waiting.group(1)
    [path] = inbox_dir(services).iterdir()
    outcome = process_file(services, path)  # what the inbox worker does
    assert not outcome.ok and "no sender address" in outcome.reason
    page = client.get("/board/letters").get_data(as_text=True)
    assert "Letters that need a person (1)" in page
    held = re.search(r'<table id="letters-quarantined">(.*?)</table>', page, re.S)
    assert held is not None
    row = held.group(1)
    assert "typewriter.png" in row
    assert "no sender address, phone or email found in the letter" in row
    assert 'id="letters-waiting"' not in page  # no longer in the inbox
    link = re.search(r'href="(/board/letters/quarantine/[^"]+)"', row)
    assert link is not None
    download = client.get(link.group(1))
    assert download.status_code == 200 and download.data == scan
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    for name in (f"{path.name}.reason.txt", "..%2Fsecret_key", "nothing.png"):
        assert client.get(f"/board/letters/quarantine/{name}").status_code == 404


def test_the_quarantine_list_is_for_signed_in_staff(client: FlaskClient,
                                                    services: Services) -> None:
    held = quarantine_dir(services)
    held.mkdir(parents=True)
    (held / "letter.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    answer = client.get("/board/letters/quarantine/letter.png")
    assert answer.status_code == 302 and "/login" in answer.location


def test_scans_larger_than_a_form_are_taken_and_too_large_ones_refused_on_the_page(
        client: FlaskClient, services: Services) -> None:
    csrf = _sign_in(client, services)
    form_limit = services.config["web.max_body_bytes"]
    scan_limit = services.config["letters.max_file_bytes"]
    assert form_limit < scan_limit
    big = b"\xff\xd8\xff" + bytes(form_limit + 1000)  # over a form's limit, under a scan's
    status, page = _upload(client, csrf, big, "big.jpg")
    assert status == 200 and "big.jpg is in the inbox" in page
    [path] = inbox_dir(services).iterdir()
    assert path.read_bytes() == big
    status, page = _upload(client, csrf, b"\xff\xd8\xff" + bytes(scan_limit + 70 * 1024),
                           "huge.jpg")
    assert status == 413 and "<h1>Letters</h1>" in page
    assert f"The file is over {scan_limit} bytes." in page
    assert len(list(inbox_dir(services).iterdir())) == 1
