"""The agents' forms on /board/calls: their own phone number for calls, and the call-back
tasks (take, done). CSRF-protected like every board form (the /twilio/ blueprint is exempt,
so these live in a blueprint of their own)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from caseboard.board_queues import visible_departments
from caseboard.identity import normalise_phone
from caseboard.models import User
from caseboard.services import current_services
from caseboard.web_auth import current_user, login_required
from channels.phone import callbacks, calls, connect

agents_bp = Blueprint("phone_agents", __name__)


def calls_page(user: User, number: str | None = None, error: str = "",
               status: int = 200) -> ResponseReturnValue:
    """/board/calls: callers waiting in the departments this user may see (supervisors and
    admins: all), the call-backs to make, my number."""
    services = current_services()
    names = {d.id: d.name.get("en", d.id) for d in services.config.departments}
    if number is None:
        number = connect.number_of(services, user.username)
    with services.database.read() as session:
        visible = visible_departments(session, user)  # None: every department
    waiting = {department: rows
               for department, rows in calls.waiting_per_department(services).items()
               if visible is None or department in visible}
    return render_template("phone/calls.html", user=user, waiting=waiting,
                           tasks=callbacks.open_tasks(services, user), names=names,
                           number=number, error=error, me=user.username), status


@agents_bp.post("/board/calls/number")
@login_required("agent")
def set_number() -> ResponseReturnValue:
    """Empty clears it: calls then reach this agent only in the browser."""
    services = current_services()
    user = current_user()
    assert user is not None and user.id is not None
    raw = (request.form.get("number") or "").strip()
    number = ""
    if raw:
        try:
            number = normalise_phone(raw, services.config["administration.country"])
        except ValueError as error:
            return calls_page(user, raw[:40], f"{error} Nothing was changed.", 400)
    with services.database.write() as session:
        connect.set_number(session, user.id, number)
    return redirect(url_for("phone.calls_waiting"), code=303)


@agents_bp.post("/board/calls/callback/<int:task_id>/<action>")
@login_required("agent")
def callback_task(task_id: int, action: str) -> ResponseReturnValue:
    """take: I am calling this citizen back; done: the call back was made."""
    user = current_user()
    assert user is not None
    step = {"take": callbacks.take, "done": callbacks.finish}.get(action)
    if step is None:
        return "unknown action\n", 404, {"Content-Type": "text/plain"}
    try:
        with current_services().database.write() as session:
            step(session, task_id, user)
    except callbacks.CallbackRefused as refused:
        return calls_page(user, error=f"{refused} Nothing was changed.", status=refused.status)
    return redirect(url_for("phone.calls_waiting"), code=303)
