"""/board/letters: the print queue (download one or a batch as one PDF, mark as posted), an
upload form that drops a scan into the inbox, where the OCR workers read it (never here,
inside the request), the scans still waiting there and the quarantined ones that did not
become a case (with the reason, to download and handle by hand), and the scan beside its
editable text, to correct what OCR misread."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import tempfile
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select
from werkzeug.exceptions import RequestEntityTooLarge

from caseboard import audit, case_view
from caseboard.models import Case, Message, utcnow
from caseboard.services import Services, current_services
from caseboard.web_auth import current_user, login_required, signed_in_user
from channels.letters.corrections import (
    MAX_PAGE_CHARS,
    CorrectionError,
    correct_page,
    letter_pages,
)
from channels.letters.inbox import inbox_dir, quarantine_dir, quarantined
from channels.letters.models import LetterPrintJob
from channels.letters.pages import BadScan, sniff

bp = Blueprint("letters", __name__, url_prefix="/board/letters", template_folder="templates")

QUARANTINE_SHOWN = 100  # the newest quarantined letters (and inbox scans) on the page
ACCEPTED = "PDF, TIFF, PNG or JPEG"


@bp.get("")
@login_required("agent")
def print_queue() -> ResponseReturnValue:
    return _letters_page()


def _letters_page(error: str = "", status: int = 200) -> ResponseReturnValue:
    """The letters page: print queue, upload form (with `error` when an upload was refused),
    the scans waiting in the inbox, and the letters in quarantine that need a person."""
    services = current_services()
    with services.database.read() as session:
        queued = session.exec(select(LetterPrintJob).where(
            col(LetterPrintJob.status) == "queued").order_by(col(LetterPrintJob.id))).all()
        posted = session.exec(select(LetterPrintJob).where(
            col(LetterPrintJob.status) == "posted")
            .order_by(col(LetterPrintJob.posted_at).desc()).limit(20)).all()
    held, held_total = quarantined(services, QUARANTINE_SHOWN)
    tz = services.config.timezone
    return render_template(
        "letters/print_queue.html", user=current_user(), queued=queued, posted=posted,
        error=error, waiting=[_shown_name(name) for name in _waiting(services)],
        quarantined=[(item, _shown_name(item.name),
                      dt.datetime.fromtimestamp(item.since, tz).strftime("%Y-%m-%d %H:%M"))
                     for item in held],
        quarantined_total=held_total, accepted=ACCEPTED), status


def _waiting(services: Services) -> list[str]:
    """Scans in the inbox not yet read (uploads and the scanner's), by name."""
    folder = inbox_dir(services)
    try:
        return sorted(entry.name for entry in folder.iterdir()
                      if not entry.name.startswith("."))[:QUARANTINE_SHOWN]
    except OSError:
        return []


def _shown_name(name: str) -> str:
    """An upload's name as the agent chose it, without the prefix that keeps it unique."""
    return re.sub(r"^upload-[0-9a-f]{12}-", "", name)


@bp.get("/quarantine/<name>")
@login_required("agent")
def quarantined_file(name: str) -> ResponseReturnValue:
    """A quarantined scan, always as a download: it is whatever a citizen sent."""
    held = quarantine_dir(current_services())
    try:
        if name.startswith(".") or name.endswith(".reason.txt") or name not in os.listdir(held):
            abort(404, "There is no such file in quarantine.")
        data = (held / name).read_bytes()
    except OSError:
        abort(404, "There is no such file in quarantine.")
    answer = send_file(io.BytesIO(data), mimetype="application/octet-stream",
                       as_attachment=True, download_name=_shown_name(name))
    answer.headers["X-Content-Type-Options"] = "nosniff"
    return answer


def _jobs(ids: list[int]) -> list[LetterPrintJob]:
    with current_services().database.read() as session:
        jobs = session.exec(select(LetterPrintJob).where(col(LetterPrintJob.id).in_(ids))
                            .order_by(col(LetterPrintJob.id))).all()
    return list(jobs)


@bp.get("/<int:job_id>.pdf")
@login_required("agent")
def download(job_id: int) -> ResponseReturnValue:
    jobs = _jobs([job_id])
    if not jobs:
        abort(404)
    data = current_services().files.get(jobs[0].pdf_sha256)
    return send_file(io.BytesIO(data), mimetype="application/pdf", as_attachment=True,
                     download_name=f"{jobs[0].reference}-{job_id}.pdf")


def _selected_ids() -> list[int]:
    ids = [int(v) for v in request.form.getlist("job") if v.isdigit()]
    if not ids:
        abort(400, "Select at least one letter.")
    return ids


@bp.post("/batch")
@login_required("agent")
def download_batch() -> ResponseReturnValue:
    import pypdfium2 as pdfium

    jobs = _jobs(_selected_ids())
    if not jobs:
        abort(404)
    merged = pdfium.PdfDocument.new()
    for job in jobs:
        source = pdfium.PdfDocument(current_services().files.get(job.pdf_sha256))
        merged.import_pages(source)
        source.close()
    buffer = io.BytesIO()
    merged.save(buffer)
    merged.close()
    buffer.seek(0)
    return send_file(buffer, mimetype="application/pdf", as_attachment=True,
                     download_name=f"letters-{len(jobs)}.pdf")


@bp.post("/posted")
@login_required("agent")
def mark_posted() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    ids = _selected_ids()
    now = utcnow()
    with current_services().database.write() as session:
        jobs = session.exec(select(LetterPrintJob).where(
            col(LetterPrintJob.id).in_(ids), col(LetterPrintJob.status) == "queued")).all()
        for job in jobs:
            job.status, job.posted_at, job.posted_by = "posted", now, user.username
            session.add(job)
            audit.record(session, job.case_id, user.username, "letter_posted", "letter",
                         print_job=job.id, kind=job.kind)
    flash(f"{len(jobs)} letter(s) marked as posted.")
    return redirect(url_for("letters.print_queue"), code=303)


@bp.url_value_preprocessor
def _scan_sized_body(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # A scan may exceed web.max_body_bytes. This runs before every before_request, so
    # also before CSRFProtect reads the form, which would otherwise refuse it with 413.
    if endpoint == "letters.upload":
        limit = current_services().config["letters.max_file_bytes"]
        request.max_content_length = limit + 64 * 1024


@bp.errorhandler(RequestEntityTooLarge)
def _scan_too_large(error: RequestEntityTooLarge) -> ResponseReturnValue:
    if request.endpoint != "letters.upload" or current_user() is None:
        return error  # the letters page is for signed-in staff only
    limit = current_services().config["letters.max_file_bytes"]
    return _letters_page(f"The file is over {limit} bytes.", 413)


@bp.post("/upload")
@login_required("agent")
def upload() -> ResponseReturnValue:
    limit = current_services().config["letters.max_file_bytes"]
    upload = request.files.get("scan")
    if upload is None or not upload.filename:
        return _letters_page("Choose a scanned letter to upload.", 400)
    data = upload.read(limit + 1)
    if not data or len(data) > limit:
        return _letters_page("The file is empty." if not data
                             else f"The file is over {limit} bytes.", 400)
    try:
        sniff(data)
    except BadScan:
        return _letters_page(f"{upload.filename} is not a scanned letter: the board takes "
                             f"{ACCEPTED} files.", 400)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", os.path.basename(upload.filename))[-80:]
    folder = inbox_dir(current_services())
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"upload-{hashlib.sha256(data).hexdigest()[:12]}-{name}"
    # Written under a dot name, then renamed: the watcher never reads half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, target)
    flash(f"{upload.filename} is in the inbox; it is read in a moment. A letter that cannot "
          "become a case (no sender address found, unreadable) is listed below under "
          "\"Letters that need a person\".")
    return redirect(url_for("letters.print_queue"), code=303)


def _letter(session: Session, message_id: int) -> tuple[Case, Message, list[dict[str, object]]]:
    """The letter message and its case; 404 for no letter, 403 for another department's."""
    message = session.get(Message, message_id)
    pages = letter_pages(message)
    case = session.get(Case, message.case_id) if message is not None else None
    if message is None or pages is None or case is None:
        abort(404, "There is no scanned letter with this number.")
    try:
        case_view.check_access(session, signed_in_user(), case)
    except case_view.CaseAccessError as error:
        abort(403, str(error))
    return case, message, pages


def _text_page(message_id: int, *, status: int = 200, error: str = "", page: int = 0,
               text: str = "") -> ResponseReturnValue:
    with current_services().database.read() as session:
        case, message, pages = _letter(session, message_id)
    return render_template("letters/text.html", user=current_user(), case=case,
                           message=message, pages=pages, error=error, edited_page=page,
                           edited_text=text, max_chars=MAX_PAGE_CHARS), status


@bp.get("/text/<int:message_id>")
@login_required("agent")
def text(message_id: int) -> ResponseReturnValue:
    return _text_page(message_id)


@bp.post("/text/<int:message_id>")
@login_required("agent")
def save_text(message_id: int) -> ResponseReturnValue:
    page = request.form.get("page", "")
    corrected = request.form.get("text", "")
    if not page.isdigit():
        abort(400, "Which page was corrected?")
    try:
        with current_services().database.write() as session:
            case, message, _ = _letter(session, message_id)
            correct_page(session, case, message, int(page), corrected, signed_in_user())
    except CorrectionError as error:
        return _text_page(message_id, status=400, error=str(error), page=int(page),
                          text=corrected)
    flash(f"Page {page} of the letter is saved; its text is no longer flagged.")
    return redirect(url_for("letters.text", message_id=message_id) + f"#page-{page}", code=303)
