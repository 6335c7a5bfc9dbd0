"""The agent's own phone number for calls (/board/calls/number), CSRF-protected like every
board form (the /twilio/ blueprint is exempt, so this lives in a blueprint of its own)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from caseboard.identity import normalise_phone
from caseboard.services import current_services
from caseboard.web_auth import current_user, login_required
from channels.phone import calls, connect

agents_bp = Blueprint("phone_agents", __name__)


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
            names = {d.id: d.name.get("en", d.id) for d in services.config.departments}
            return render_template("phone/calls.html", waiting=calls.waiting_per_department(
                services), names=names, number=raw[:40], error=str(error)), 400
    with services.database.write() as session:
        connect.set_number(session, user.id, number)
    return redirect(url_for("phone.calls_waiting"), code=303)
