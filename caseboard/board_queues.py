"""The queue pages: my cases, a department's queue, triage, all queues; claim next; live events.

Who sees what: an agent sees the cases of their own departments (triage only if they belong
to it); supervisors and admins see every department. Opening another department's queue by
URL is refused with 403, and the live stream only reports cases the user may see.
"""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from caseboard import assignment, board_events, queue_queries
from caseboard.models import Department, User, UserDepartment, utcnow
from caseboard.queue_queries import OPEN_STATUSES, QueueFilter, Scope, list_queue
from caseboard.services import current_services
from caseboard.web_auth import ROLE_RANK, current_user, login_required, signed_in_user
from settings import CHANNELS, PRIORITIES

bp = Blueprint("queues", __name__, url_prefix="/board", template_folder="templates",
               static_folder="static", static_url_path="/static")

VIEWS = {"mine": "My cases", "queue": "Department queue", "triage": "Triage",
         "all": "All queues"}


def is_supervisor(user: User) -> bool:
    return ROLE_RANK.get(user.role, 0) >= ROLE_RANK["supervisor"]


def departments_of(session: Session, user: User) -> frozenset[str]:
    rows = session.execute(select(UserDepartment.department_id)
                           .where(col(UserDepartment.user_id) == user.id)).scalars()
    return frozenset(rows)


def visible_departments(session: Session, user: User) -> frozenset[str] | None:
    """None means every department (supervisors and admins)."""
    return None if is_supervisor(user) else departments_of(session, user)


def _triage() -> str:
    department: str = current_services().config["routing.triage_department"]
    return department


def _scope(session: Session, user: User, view: str, department: str) -> Scope:
    """The cases of a view, or abort: 403 when the user may not see them."""
    visible = visible_departments(session, user)
    if view == "mine":
        return Scope(departments=None, assignee=user.id)
    if view == "all":
        if visible is not None:
            abort(403, "All queues are for supervisors and admins.")
        return Scope()
    if view == "triage":
        department = _triage()
    if session.get(Department, department) is None:
        abort(404, f"There is no department {department!r}.")
    if visible is not None and department not in visible:
        abort(403, f"You do not work in the {department} department.")
    return Scope(departments=frozenset({department}))


@bp.app_context_processor
def _navigation() -> dict[str, object]:
    def may_triage() -> bool:
        user = current_user()
        if user is None:
            return False
        with current_services().database.read() as session:
            visible = visible_departments(session, user)
        return visible is None or _triage() in visible

    return {"nav_may_triage": may_triage}


def _default_department(session: Session, user: User) -> str:
    own = sorted(departments_of(session, user) - {_triage()})
    if own:
        return own[0]
    first = session.execute(select(Department.id).where(col(Department.active))
                            .order_by(col(Department.id))).scalars().first()
    return first or _triage()


def _page(view: str, department: str = "") -> ResponseReturnValue:
    user, services = signed_in_user(), current_services()
    filters = QueueFilter.from_args(request.args.to_dict())
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 200))
    since = utcnow()  # before the query: a change racing the render still arrives live
    with services.database.read() as session:
        if view == "queue" and not department:
            department = _default_department(session, user)
        scope = _scope(session, user, view, department)
        result = list_queue(session, scope, filters, page)
        visible = visible_departments(session, user)
        names = {d.id: d.name_en for d in session.execute(select(Department)).scalars()}
        assignees = _usernames(session, {r.assigned_user_id for r in result.rows})
        may_triage = visible is None or _triage() in visible
    context = dict(user=user, view=view, title=VIEWS[view], department=department,
                   filters=filters, result=result, page=page, since=since.isoformat(),
                   departments=sorted(names.items()) if visible is None else
                   sorted((d, names.get(d, d)) for d in visible if d != _triage()),
                   names=names, assignees=assignees, may_triage=may_triage,
                   options=_options(), now=utcnow(), tz=services.config.timezone,
                   scan_cap=f"{queue_queries.SCAN_CAP:,}",
                   base_args={**filters.as_args(),
                              **({"department": department} if view == "queue" else {})})
    template = "board/queue_rows.html" if request.args.get("fragment") else "board/queue.html"
    return render_template(template, **context)


def _usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(col(User.id).in_(wanted)))
    return {user_id: name for user_id, name in rows}


def _options() -> dict[str, list[str]]:
    config = current_services().config
    return {"channel": list(CHANNELS), "status": [str(s) for s in OPEN_STATUSES]
            + ["resolved", "closed"], "priority": list(PRIORITIES),
            "service": sorted(s.code for d in config.departments for s in d.services),
            "language": ["en", "zh"]}


@bp.get("")
@login_required("agent")
def home() -> ResponseReturnValue:
    return _page("mine")


@bp.get("/queue")
@bp.get("/queue/<department>")
@login_required("agent")
def queue(department: str = "") -> ResponseReturnValue:
    return _page("queue", department or request.args.get("department", "").strip()[:40])


@bp.get("/triage")
@login_required("agent")
def triage() -> ResponseReturnValue:
    return _page("triage")


@bp.get("/all")
@login_required("supervisor")
def all_queues() -> ResponseReturnValue:
    return _page("all")


@bp.post("/claim-next")
@login_required("agent")
def claim_next() -> ResponseReturnValue:
    user, services = signed_in_user(), current_services()
    if user.presence != "available":
        flash(f"You are {user.presence}: set your presence to available (Me) to claim cases.",
              "error")
        return redirect(url_for("queues.home"), code=303)
    try:
        taken = assignment.claim_next(services.database, services.config, user.username)
    except assignment.AssignmentError as error:
        flash(str(error), "error")
        return redirect(url_for("queues.home"), code=303)
    if taken is None:
        flash("Nothing is waiting that you can take (department, language, skills, capacity).",
              "info")
        return redirect(url_for("queues.home"), code=303)
    return redirect(f"/board/case/{taken.reference}", code=303)


@bp.get("/events")
@login_required("agent")
def events() -> ResponseReturnValue:
    """The live stream for the queue pages: which visible cases changed."""
    user, services = signed_in_user(), current_services()
    with services.database.read() as session:
        scope = Scope(departments=visible_departments(session, user))
    cursor = (board_events.parse_cursor(request.headers.get("Last-Event-ID"))
              or board_events.parse_cursor(request.args.get("since")))
    if cursor is not None:
        cursor = min(cursor, utcnow())  # a cursor from the future would hide changes
    body = board_events.stream(services.database, scope, cursor)
    response = Response(stream_with_context(body), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


def due_label(due: dt.datetime | None, now: dt.datetime) -> str:
    """"overdue 2 h" / "in 35 min" / "in 3 d": how much time the deadline leaves."""
    if due is None:
        return ""
    seconds = (due - now).total_seconds()
    minutes = abs(seconds) / 60
    amount = (f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.0f} h"
              if minutes < 48 * 60 else f"{minutes / 1440:.0f} d")
    return f"overdue {amount}" if seconds < 0 else f"in {amount}"


bp.add_app_template_filter(due_label, "due_label")
