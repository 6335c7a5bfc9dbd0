"""What supervisors do from the dashboard, every action audited: reassign a case, all of an
agent's cases or a whole queue (supervisor_queue_move), change an agent's departments,
capacity or presence, decide deadline extensions, clear alerts. Also the agents' own form to
ask for an extension.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, delete, select

from caseboard import assignment, audit, supervisor_queue_move, timelimit_monitor
from caseboard.assignment import HELD_STATUSES, AssignmentError
from caseboard.models import Case, User, UserDepartment
from caseboard.services import current_services
from caseboard.supervisor_queue_move import QueueMove, QueueMoveError
from caseboard.web_auth import ROLE_RANK, current_user, login_required
from routing.assignment import DEFAULT_CAPACITY

bp = Blueprint("supervisor_actions", __name__, url_prefix="/supervisor",
               template_folder="templates")
agent_bp = Blueprint("extensions", __name__, url_prefix="/board/extension",
                     template_folder="templates")


def _actor() -> str:
    user = current_user()
    assert user is not None
    return user.username


def _back() -> ResponseReturnValue:
    return redirect(url_for("supervisor.dashboard"), code=303)


def _case(db: Session, reference: str) -> Case:
    case = db.execute(select(Case).where(col(Case.reference) == reference.strip())
                      ).scalar_one_or_none()
    if case is None:
        abort(404, f"No case {reference}.")
    return case


def _move(db: Session, case: Case, target: str, actor: str) -> None:
    """Give the case to `target` (a username), or back to its queue when target is empty."""
    if case.assigned_user_id is not None:
        assignment.release(db, case, actor, reason="reassigned by a supervisor")
    if not target:
        return
    config = current_services().config
    agent = next((a for a in assignment.agent_states(db, config) if a.username == target), None)
    if agent is None:
        raise AssignmentError(f"unknown or inactive user {target!r}")
    assignment.assign(db, case, agent, actor, (f"reassigned by {actor}",))


@bp.post("/cases/reassign")
@login_required("supervisor")
def reassign_case() -> ResponseReturnValue:
    reference, target = request.form.get("reference", ""), request.form.get("to", "").strip()
    try:
        with current_services().database.write() as db:
            _move(db, _case(db, reference), target, _actor())
        flash(f"{reference} is now with {target or 'its queue'}.")
    except AssignmentError as error:
        flash(f"Not reassigned: {error}")
    return _back()


@bp.post("/agents/<username>/reassign-all")
@login_required("supervisor")
def reassign_all(username: str) -> ResponseReturnValue:
    """Every open case an agent holds goes to another agent, or back to the queues."""
    target = request.form.get("to", "").strip()
    moved = 0
    try:
        with current_services().database.write() as db:
            user = _user(db, username)
            for case in db.execute(select(Case).where(
                    col(Case.assigned_user_id) == user.id,
                    col(Case.status).in_(HELD_STATUSES))).scalars().all():
                _move(db, case, target, _actor())
                moved += 1
        flash(f"{moved} of {username}'s cases moved to {target or 'their queues'}.")
    except AssignmentError as error:
        flash(f"Nothing moved: {error}")
    return _back()


def _queue_move(values: dict[str, str]) -> QueueMove:
    return QueueMove(
        department=values.get("department", "").strip(),
        to_department=values.get("to_department", "").strip(),
        to_agent=values.get("to_agent", "").strip(),
        service=values.get("service", "").strip()[:40],
        channel=values.get("channel", "").strip()[:16],
        include_held=values.get("include_held") == "1",
        reason=values.get("reason", ""))


@bp.get("/queues/move")
@login_required("supervisor")
def preview_queue_move() -> ResponseReturnValue:
    """What a queue move would do: how many cases, which, to whom; a button to do it."""
    services = current_services()
    move = _queue_move(request.args.to_dict())
    error, preview = "", None
    with services.database.read() as db:
        try:
            preview = supervisor_queue_move.preview(
                db, move, services.config["routing.triage_department"])
        except QueueMoveError as problem:
            error = str(problem)
    return render_template("supervisor/queue_move.html", user=current_user(), move=move,
                           preview=preview, error=error), 400 if error else 200


@bp.post("/queues/move")
@login_required("supervisor")
def queue_move() -> ResponseReturnValue:
    services = current_services()
    move = _queue_move(request.form.to_dict())
    try:
        with services.database.write() as db:
            moved = supervisor_queue_move.move_queue(
                db, move, _actor(), services.calendar,
                services.config["routing.triage_department"])
    except QueueMoveError as problem:
        return render_template("supervisor/queue_move.html", user=current_user(), move=move,
                               preview=None, error=f"Nothing moved: {problem}"), 400
    expected = request.form.get("expected", "")
    note = (f" ({expected} were shown: the queue changed meanwhile)"
            if expected.isdigit() and int(expected) != moved else "")
    flash(f"{moved} case{'s' if moved != 1 else ''} of {move.describe()} moved to "
          f"{move.target}{note}." if moved else
          f"No cases of {move.describe()} to move: nothing changed.")
    return _back()


def _user(db: Session, username: str) -> User:
    user = db.execute(select(User).where(col(User.username) == username)).scalar_one_or_none()
    if user is None:
        abort(404, f"No user {username}.")
    return user


@bp.post("/agents/<username>")
@login_required("supervisor")
def change_agent(username: str) -> ResponseReturnValue:
    services = current_services()
    known = {d.id for d in services.config.departments}
    departments = sorted(set(request.form.getlist("departments")) & known)
    capacity: dict[str, int] = {}
    for work in DEFAULT_CAPACITY:
        raw = request.form.get(f"capacity_{work}", "").strip()
        if raw:
            if not raw.isdigit() or int(raw) > 100:
                abort(400, f"Capacity for {work} must be a whole number from 0 to 100.")
            capacity[work] = int(raw)
    presence = request.form.get("presence", "")
    with services.database.write() as db:
        user = _user(db, username)
        assert user.id is not None
        if request.form.get("set_departments"):
            db.execute(delete(UserDepartment).where(col(UserDepartment.user_id) == user.id))
            for department in departments:
                db.add(UserDepartment(user_id=user.id, department_id=department))
        if capacity:
            user.capacity = {**user.capacity, **capacity}
            db.add(user)
        audit.record(db, None, _actor(), "agent_changed", "board", user=username,
                     departments=departments if request.form.get("set_departments") else None,
                     capacity=capacity or None)
        if presence:
            try:
                assignment.set_presence(db, username, presence, _actor())
            except AssignmentError as error:
                abort(400, str(error))
    flash(f"{username} updated.")
    return _back()


@bp.post("/extensions/<int:extension_id>")
@login_required("supervisor")
def decide_extension(extension_id: int) -> ResponseReturnValue:
    decision = request.form.get("decision", "")
    if decision not in ("approve", "refuse"):
        abort(400, "Decide approve or refuse.")
    services = current_services()
    try:
        with services.database.write() as db:
            case = timelimit_monitor.decide_extension(db, extension_id, _actor(),
                                                      decision == "approve", services.calendar)
        flash(f"Extension for {case.reference} {decision}d.")
    except timelimit_monitor.ExtensionError as error:
        flash(str(error))
    return _back()


@bp.post("/alerts/<int:alert_id>/resolve")
@login_required("supervisor")
def resolve_alert(alert_id: int) -> ResponseReturnValue:
    with current_services().database.write() as db:
        timelimit_monitor.resolve_alert(db, alert_id, _actor())
    return _back()


# ---------------------------------------------------------------- agents ask for more time


def _may_work_on(db: Session, user: User, case: Case) -> bool:
    if ROLE_RANK.get(user.role, 0) >= ROLE_RANK["supervisor"]:
        return True
    return db.get(UserDepartment, (user.id, case.department_id)) is not None


@agent_bp.route("/<reference>", methods=["GET", "POST"])
@login_required("agent")
def request_extension(reference: str) -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    error, done = "", False
    with current_services().database.write() as db:
        case = _case(db, reference)
        if not _may_work_on(db, user, case):
            abort(403, "This case belongs to another department.")
        if request.method == "POST":
            try:
                hours = float(request.form.get("hours", "0"))
                timelimit_monitor.request_extension(db, case, user.username, hours,
                                                    request.form.get("reason", ""))
                done = True
            except ValueError as problem:  # ExtensionError or a malformed number
                error = str(problem)
    status = 200 if not error else 400
    return render_template("supervisor/extension_request.html", user=user, case=case,
                           error=error, done=done), status
