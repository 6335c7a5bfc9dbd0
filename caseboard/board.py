"""Board pages available so far: an agent's own presence, and the supervisors' agent list."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from caseboard import assignment
from caseboard.services import current_services
from caseboard.web_auth import current_user, login_required

bp = Blueprint("board", __name__, url_prefix="/board", template_folder="templates")


@bp.get("/me")
@login_required("agent")
def presence() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    return render_template("board/presence.html", user=user,
                           presences=assignment.PRESENCES)


@bp.post("/me/presence")
@login_required("agent")
def set_presence() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    wanted = request.form.get("presence", "")
    if wanted not in assignment.PRESENCES:
        abort(400, f"Presence must be one of {', '.join(assignment.PRESENCES)}.")
    with current_services().database.write() as db:
        assignment.set_presence(db, user.username, wanted, user.username)
    return redirect(url_for("board.presence"), code=303)


@bp.get("/agents")
@login_required("supervisor")
def agents() -> ResponseReturnValue:
    services = current_services()
    with services.database.read() as db:
        states = assignment.agent_states(db, services.config)
    return render_template("board/agents.html", user=current_user(),
                           agents=sorted(states, key=lambda a: a.username))
