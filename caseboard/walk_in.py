"""The walk-in desk, /board/walk-in: find or create the visitor, record a walk_in case.

The case goes through intake like every other contact (routing, deadlines, audit); the
form's one-time token is the contact's external id, so a double submission is one case.
"""

from __future__ import annotations

import contextlib
import secrets

import sqlalchemy as sa
from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlmodel import Session, col, select

from caseboard.contacts import InboundContact, Sender
from caseboard.identity import normalise_email, normalise_phone
from caseboard.intake import IntakeError
from caseboard.models import Citizen, CitizenIdentity
from caseboard.services import current_services
from caseboard.web_auth import current_user, login_required

bp = Blueprint("walk_in", __name__, url_prefix="/board/walk-in", template_folder="templates")

MAX_TEXT = 10_000
FIELDS = ("name", "email", "phone", "address", "postcode")


def find_citizens(session: Session, query: str, region: str) -> list[tuple[Citizen, list[str]]]:
    """Citizens whose email or phone is exactly the query, or whose name contains it."""
    query = " ".join(query.split())[:200]
    if not query:
        return []
    exact = []
    for normalise in (normalise_email, lambda q: normalise_phone(q, region)):
        with contextlib.suppress(ValueError):
            exact.append(normalise(query))
    ids = set(session.execute(select(CitizenIdentity.citizen_id).where(
        col(CitizenIdentity.value).in_(exact))).scalars()) if exact else set()
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    ids |= set(session.execute(select(Citizen.id).where(
        col(Citizen.name).ilike(pattern, escape="\\")).limit(20)).scalars())
    citizens = session.execute(select(Citizen).where(col(Citizen.id).in_(ids))
                               .order_by(col(Citizen.name)).limit(20)).scalars().all()
    found = []
    for citizen in citizens:
        values = session.execute(select(CitizenIdentity.kind, CitizenIdentity.value).where(
            col(CitizenIdentity.citizen_id) == citizen.id)).all()
        found.append((citizen, [f"{k}: {v}" for k, v in values]))
    return found


def _sender_of(session: Session, citizen_id: int) -> Sender | None:
    """A Sender carrying one of the citizen's exact identities, so intake finds them."""
    citizen = session.get(Citizen, citizen_id)
    if citizen is None:
        return None
    rows = dict(session.execute(select(CitizenIdentity.kind, CitizenIdentity.value).where(
        col(CitizenIdentity.citizen_id) == citizen_id).order_by(
        sa.desc(col(CitizenIdentity.id)))).all())
    sender = Sender(name=citizen.name, email=rows.get("email", ""), phone=rows.get("phone", ""),
                    address=rows.get("address", "") if not rows.get("email") else "",
                    postcode=citizen.postcode, chat_session=rows.get("chat", ""))
    return sender if sender.has_identity() else None


def _form(error: str = "", status: int = 200, results: list[tuple[Citizen, list[str]]] | None
          = None, chosen: Citizen | None = None) -> ResponseReturnValue:
    services = current_services()
    return render_template(
        "board/walk_in.html", user=current_user(), error=error, results=results,
        query=request.values.get("q", ""), chosen=chosen, values=request.form,
        departments=services.config.departments, form_token=secrets.token_urlsafe(24)), status


@bp.get("")
@login_required("agent")
def desk() -> ResponseReturnValue:
    services = current_services()
    query = request.args.get("q", "")
    chosen = None
    with services.database.read() as session:
        results = find_citizens(session, query, services.config["administration.country"]) \
            if query else None
        if request.args.get("citizen", type=int):
            chosen = session.get(Citizen, request.args.get("citizen", type=int))
    return _form(results=results, chosen=chosen)


@bp.post("")
@login_required("agent")
def record() -> ResponseReturnValue:
    services, user, form = current_services(), current_user(), request.form
    assert user is not None
    text, token = form.get("text", "").strip(), form.get("form_token", "")
    if not text:
        return _form("Write down what the visitor asks for.", 400)
    if len(text) > MAX_TEXT:
        return _form(f"The request is too long ({len(text)} characters; at most {MAX_TEXT}).",
                     400)
    if not token or len(token) > 64:
        return _form("The form has expired: reload the page.", 400)
    sender: Sender | None
    if form.get("citizen_id", type=int):
        with services.database.read() as session:
            sender = _sender_of(session, form.get("citizen_id", type=int) or 0)
    else:
        sender = Sender(**{f: " ".join(form.get(f, "").split())[:320] for f in FIELDS})
    if sender is None or not sender.has_identity():
        return _form("Give an email address, a phone number or a postal address for the "
                     "visitor, or pick a known citizen.", 400)
    department = form.get("department") or None
    contact = InboundContact("walk_in", f"desk-{token}", sender, text,
                             subject=" ".join(form.get("subject", "").split())[:200],
                             language=form.get("language", "en")[:8],
                             explicit_department=department,
                             metadata={"desk_agent": user.username})
    try:
        result = services.intake.take(contact)
    except IntakeError as error:
        return _form(f"The case could not be recorded: {error}.", 400)
    return redirect(url_for("case.page", reference=result.reference), code=303)
