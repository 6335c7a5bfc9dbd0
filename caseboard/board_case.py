"""The case page, /board/case/<reference>: read everything about a case and work on it.

Every route checks the role (agent and up) and the department (403 for another department's
case). Forms carry the CSRF token, a one-time submission token and the case's version.
"""

from __future__ import annotations

import datetime as dt
import secrets
import unicodedata
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from caseboard import assignment, audit, case_view, merge, replies, workflow
from caseboard.case_models import CaseMerge
from caseboard.models import Attachment, Case, Department, Message, User, utcnow
from caseboard.queries import case_by_reference
from caseboard.services import current_services
from caseboard.web_auth import login_required, signed_in_user
from knowledge_base.render_types import Rendering

bp = Blueprint("case", __name__, url_prefix="/board/case", template_folder="templates",
               static_folder="static", static_url_path="/static")

MAX_NOTE_CHARS = 4000
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
STATUS_ACTIONS = ("accept", "start", "wait_for_citizen", "resume", "answer", "resolve",
                  "reopen", "close")


def _case(session: Session, reference: str) -> Case:
    case = case_by_reference(session, reference)
    if case is None:
        abort(404, f"There is no case {reference}.")
    try:
        case_view.check_access(session, signed_in_user(), case)
    except case_view.CaseAccessError as error:
        abort(403, str(error))
    return case


def _draft() -> replies.Draft:
    form = request.form
    article = form.get("insert") or form.get("article", "")
    # "email:ann@mail.example" (the Send by list), or a bare channel for its first address.
    channel, _, recipient = form.get("channel", "").partition(":")
    return replies.Draft(channel=channel, recipient=recipient, text=form.get("text", ""),
                         article=article, form_token=form.get("form_token", ""),
                         version=form.get("version", ""),
                         previewed=form.get("previewed", ""))


def _page(reference: str, *, status: int = 200, error: str = "",
          draft: replies.Draft | None = None, rendering: Rendering | None = None,
          note: str = "", changes: list[Any] | None = None) -> ResponseReturnValue:
    services, user, now = current_services(), signed_in_user(), utcnow()
    with services.database.write() as session:
        case = _case(session, reference)
        case_view.mark_viewing(session, case, user, now)
    with services.database.read() as session:
        case = _case(session, reference)
        targets = replies.reply_targets(session, case)
        first_in = session.execute(select(Message.text).where(
            col(Message.case_id) == case.id, col(Message.direction) == "in")
            .order_by(col(Message.id)).limit(1)).scalar_one_or_none() or case.subject
        context = dict(
            user=user, case=case, entries=case_view.timeline(session, case),
            panel=case_view.citizen_panel(session, case),
            clocks=case_view.clocks(case, services.calendar, now,
                                    services.config["time_limits.at_risk_fraction"]),
            audit=case_view.audit_trail(session, case),
            viewers=case_view.other_viewers(session, case, user, now),
            related=case_view.related(session, case, user),
            assignee=session.get(User, case.assigned_user_id) if case.assigned_user_id else None,
            departments=list(session.execute(select(Department).where(
                col(Department.active)).order_by(col(Department.id))).scalars()),
        )
    suggestions = services.kb.suggest_for_case(first_in, case.language or None,
                                               case.department_id)
    draft = draft or replies.Draft(channel=targets[0].channel if targets else "", text="",
                                   recipient=targets[0].recipient if targets else "")
    selected = replies.chosen_target(targets, draft.channel, draft.recipient)
    return render_template(
        "board/case.html", **context, targets=targets, suggestions=suggestions, draft=draft,
        selected=selected, rendering=rendering,
        previewed=replies.digest(rendering, selected.recipient if selected else "")
        if rendering else "",
        error=error, note=note, changes=changes or [],
        form_token=secrets.token_urlsafe(24), version=case.updated_at.isoformat(),
        status_actions=[a for a in workflow.allowed_actions(case.status)
                        if a in STATUS_ACTIONS],
        may_transfer="transfer" in workflow.allowed_actions(case.status),
        may_return="return" in workflow.allowed_actions(case.status),
        may_dispatch="dispatch" in workflow.allowed_actions(case.status),
        return_reasons=workflow.RETURN_REASONS, max_note=MAX_NOTE_CHARS,
        registered=set(replies.outbox.registered_channels()),
        triage=services.config["routing.triage_department"]), status


@bp.get("/<reference>")
@login_required("agent")
def page(reference: str) -> ResponseReturnValue:
    return _page(reference)


def local_time(moment: dt.datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time in the administration's time zone, for staff reading the page."""
    if moment is None:
        return ""
    return moment.astimezone(current_services().config.timezone).strftime(pattern)


bp.add_app_template_filter(local_time, "local_time")


def _help_base() -> str:
    return request.host_url.rstrip("/")


@bp.post("/<reference>/preview")
@login_required("agent")
def preview(reference: str) -> ResponseReturnValue:
    services, draft = current_services(), _draft()
    with services.database.read() as session:
        case = _case(session, reference)
        try:
            rendering = replies.preview(session, services.kb, case, signed_in_user(), draft,
                                        services.config["administration.name"], _help_base())
        except replies.ReplyError as error:
            return _page(reference, status=400, error=str(error), draft=draft)
    return _page(reference, draft=draft, rendering=rendering)


@bp.post("/<reference>/reply")
@login_required("agent")
def reply(reference: str) -> ResponseReturnValue:
    services, draft, user = current_services(), _draft(), signed_in_user()
    since = _parse_version(draft.version)
    try:
        with services.database.write() as session:
            case = _case(session, reference)
            message_id, written = replies.send(
                session, services.kb, case, user, draft,
                administration=services.config["administration.name"],
                help_base=_help_base(), calendar=services.calendar)
    except replies.StaleCaseError as error:
        with services.database.read() as session:
            case = _case(session, reference)
            changes = case_view.changes_since(session, case, since) if since else []
        return _page(reference, status=409, error=str(error), draft=draft, changes=changes)
    except replies.DuplicateSubmission:
        written = False
    except replies.PreviewChanged as error:
        return _page(reference, status=409, error=str(error), draft=draft,
                     rendering=error.rendering)
    except replies.ReplyError as error:
        return _page(reference, status=400, error=str(error), draft=draft)
    flash("Reply queued for sending." if written else
          "This reply was already sent: it was not sent again.", "info")
    return redirect(url_for("case.page", reference=reference) + "#timeline", code=303)


def _parse_version(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


@bp.post("/<reference>/note")
@login_required("agent")
def note(reference: str) -> ResponseReturnValue:
    services, user = current_services(), signed_in_user()
    text = request.form.get("note", "").strip()
    token = request.form.get("form_token", "")
    if not text:
        return _page(reference, status=400, error="The note is empty.")
    if len(text) > MAX_NOTE_CHARS:
        return _page(reference, status=400, note=text,
                     error=f"The note is too long ({len(text)} characters; at most "
                           f"{MAX_NOTE_CHARS}). Nothing was saved.")
    try:
        with services.database.write() as session:
            case = _case(session, reference)
            if replies.earlier_submission(session, token) is not None:
                flash("This note was already saved.", "info")
                return redirect(url_for("case.page", reference=reference), code=303)
            now = utcnow()
            message = Message(case_id=case.id or 0, direction="note", channel="internal",
                              sender=user.username, text=text, delivery_status="internal",
                              author_user_id=user.id, created_at=now)
            session.add(message)
            session.flush()
            replies.claim_token(session, token, user, case, "note", message.id, now)
            case.updated_at = now
            session.add(case)
            audit.record(session, case.id, user.username, "note", "board",
                         message_id=message.id)
    except replies.DuplicateSubmission:
        flash("This note was already saved.", "info")
    except replies.ReplyError as error:
        return _page(reference, status=400, error=str(error), note=text)
    return redirect(url_for("case.page", reference=reference) + "#timeline", code=303)


def _act(reference: str, work: Callable[[Session, Case, User], str | None]
         ) -> ResponseReturnValue:
    """Run one change in a write transaction; a refused change re-renders with the reason."""
    services, user = current_services(), signed_in_user()
    try:
        with services.database.write() as session:
            case = _case(session, reference)
            target = work(session, case, user)
    except (workflow.WorkflowError, assignment.AssignmentError, merge.CaseActionError) as error:
        return _page(reference, status=400, error=str(error))
    return redirect(target or url_for("case.page", reference=reference), code=303)


@bp.post("/<reference>/action")
@login_required("agent")
def action(reference: str) -> ResponseReturnValue:
    services, form = current_services(), request.form

    def work(session: Session, case: Case, user: User) -> str | None:
        name = form.get("action", "")
        workflow.apply(session, case, name, user.username, calendar=services.calendar,
                       channel="board", department=form.get("department") or None,
                       reason=form.get("reason", "")[:500],
                       reason_code=form.get("reason_code", ""),
                       triage_department=services.config["routing.triage_department"])
        if not case_view.may_see(session, user, case):  # transferred or returned away
            flash(f"{case.reference}: {name.replace('_', ' ')} done.", "info")
            return url_for("queues.home")
        return None

    return _act(reference, work)


@bp.post("/<reference>/take")
@login_required("agent")
def take(reference: str) -> ResponseReturnValue:
    services = current_services()

    def work(session: Session, case: Case, user: User) -> str | None:
        agent = next((a for a in assignment.agent_states(session, services.config)
                      if a.user_id == user.id), None)
        if agent is None:
            raise assignment.AssignmentError("you are not an active agent")
        assignment.assign(session, case, agent, user.username, ("taken on the case page",))
        return None

    return _act(reference, work)


@bp.post("/<reference>/merge")
@login_required("agent")
def merge_into(reference: str) -> ResponseReturnValue:
    into = request.form.get("into", "").strip()

    def work(session: Session, case: Case, user: User) -> str | None:
        survivor = _case(session, into) if into else None
        if survivor is None:
            raise merge.CaseActionError("name the case to merge into")
        merge.merge(session, case, survivor, user.username)
        flash(f"{case.reference} was merged into {survivor.reference}.", "info")
        return url_for("case.page", reference=survivor.reference)

    return _act(reference, work)


@bp.post("/<reference>/merge/<int:merge_id>/undo")
@login_required("agent")
def undo_merge(reference: str, merge_id: int) -> ResponseReturnValue:
    def work(session: Session, case: Case, user: User) -> str | None:
        record = session.get(CaseMerge, merge_id)
        if record is None or case.id not in (record.source_case_id, record.target_case_id):
            raise merge.CaseActionError("that merge is not on this case")
        other = record.target_case_id if case.id == record.source_case_id else record.source_case_id
        peer = session.get(Case, other)
        if peer is not None and not case_view.may_see(session, user, peer):
            abort(403, f"{peer.reference} belongs to a department you do not work for.")
        duplicate, _ = merge.undo_merge(session, record, user.username)
        flash(f"The merge was undone: {duplicate.reference} is a case of its own again.", "info")
        return None

    return _act(reference, work)


@bp.post("/<reference>/link")
@login_required("agent")
def link(reference: str) -> ResponseReturnValue:
    other_ref, remove = request.form.get("other", "").strip(), request.form.get("unlink")

    def work(session: Session, case: Case, user: User) -> str | None:
        other = case_by_reference(session, other_ref) if other_ref else None
        if other is None:
            raise merge.CaseActionError(f"there is no case {other_ref or '(none given)'}")
        if not case_view.may_see(session, user, other):  # as merge: 403, nothing written
            abort(403, f"{other.reference} belongs to a department you do not work for.")
        (merge.unlink if remove else merge.link)(session, case, other, user.username)
        return None

    return _act(reference, work)


@bp.post("/<reference>/identity/<int:suggestion_id>")
@login_required("agent")
def identity(reference: str, suggestion_id: int) -> ResponseReturnValue:
    confirm = request.form.get("decision") == "confirm"

    def work(session: Session, case: Case, user: User) -> str | None:
        merge.decide_identity(session, case, suggestion_id, confirm, user.username)
        return None

    return _act(reference, work)


@bp.post("/<reference>/viewing")
@login_required("agent")
def viewing(reference: str) -> ResponseReturnValue:
    """The page is still open: who else has it open, and has the case changed?"""
    services, user, now = current_services(), signed_in_user(), utcnow()
    with services.database.write() as session:
        case = _case(session, reference)
        case_view.mark_viewing(session, case, user, now)
    with services.database.read() as session:
        others = case_view.other_viewers(session, case, user, now)
    return jsonify(viewers=others, version=case.updated_at.isoformat())


@bp.get("/<reference>/file/<sha256>")
@login_required("agent")
def attachment(reference: str, sha256: str) -> ResponseReturnValue:
    """An attachment or scan of this case, by hash; only images are shown inline."""
    services = current_services()
    with services.database.read() as session:
        case = _case(session, reference)
        found = session.execute(select(Attachment).join(
            Message, col(Message.id) == col(Attachment.message_id)).where(
            col(Message.case_id) == case.id, col(Attachment.sha256) == sha256)).scalars().first()
        scan = found is None and _is_scan(session, case, sha256)
    if found is None and not scan:
        abort(404, "No such file on this case.")
    try:
        data = services.files.get(sha256)
    except (OSError, ValueError):
        abort(404, "The file is missing from the store.")
    kind = found.content_type if found else "image/png"
    inline = kind in INLINE_TYPES
    response = Response(data, mimetype=kind if inline else "application/octet-stream")
    name = found.filename if found else f"scan-{sha256[:12]}.png"
    response.headers["Content-Disposition"] = _disposition(
        "inline" if inline else "attachment", name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _disposition(kind: str, name: str) -> str:
    """An ASCII filename for old clients and the real one as RFC 5987 filename* (a Chinese
    or accented name survives the download)."""
    fallback = _ascii(name)
    value = f'{kind}; filename="{fallback}"'
    if name and fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name)  # "café" → "cafe" rather than "caf_"
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return "".join(c if 32 <= ord(c) < 127 and c not in '\\";' else "_"
                   for c in plain) or "file"


def _is_scan(session: Session, case: Case, sha256: str) -> bool:
    return any(sha256 in case_view.letter_images(details or {})
               for details in session.execute(select(Message.details).where(
                   col(Message.case_id) == case.id, col(Message.channel) == "letter")).scalars())
