"""An agent's own reminders (/board/reminders): what the time-limit monitor raised about their
cases, newest first, each marked as read by the agent.

An agent sees the reminders sent to them (a case of theirs at risk) and the escalations of
the cases they hold now (a broken time limit, which went to the supervisors). Nobody sees
another agent's reminders, and marking one as read is refused unless it is the reader's own:
reading is per reader (AlertRead), so it never clears an alert for the supervisors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from caseboard import navigation
from caseboard.models import Case, utcnow
from caseboard.services import current_services
from caseboard.supervisor_models import AlertRead, SupervisorAlert
from caseboard.web_auth import login_required, signed_in_user

bp = Blueprint("reminders", __name__, url_prefix="/board/reminders",
               template_folder="templates")

SHOWN = 100
LABELS = {"reminder": "At risk", "escalation": "Time limit broken (supervisors told)"}


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    navigation.add_link(app, "Reminders", "reminders.page")


def _mine(user_id: int) -> list[sa.ColumnElement[bool]]:
    """The two ways an alert is an agent's: sent to them, or an escalation of their case."""
    return [sa.and_(col(SupervisorAlert.to_user_id) == user_id,
                    col(SupervisorAlert.kind) == "reminder"),
            sa.and_(col(SupervisorAlert.kind) == "escalation",
                    col(Case.assigned_user_id) == user_id)]


def reminders_for(session: Session, user_id: int, limit: int = SHOWN) -> list[dict[str, Any]]:
    """The user's reminders, newest first, each with whether they have read it."""
    rows: dict[int, dict[str, Any]] = {}
    for condition in _mine(user_id):  # two indexed queries rather than one OR over both
        query = (select(SupervisorAlert, Case.reference, AlertRead.read_at)
                 .join(Case, col(Case.id) == SupervisorAlert.case_id)
                 .outerjoin(AlertRead, sa.and_(col(AlertRead.alert_id) == SupervisorAlert.id,
                                               col(AlertRead.user_id) == user_id))
                 .where(condition)
                 .order_by(col(SupervisorAlert.raised_at).desc(),
                           col(SupervisorAlert.id).desc()).limit(limit))
        for alert, reference, read_at in session.execute(query):
            rows[alert.id] = {"id": alert.id, "kind": alert.kind,
                              "label": LABELS[alert.kind], "reference": reference,
                              "message": alert.message, "due": alert.due,
                              "raised_at": alert.raised_at, "cleared": alert.resolved,
                              "read_at": read_at}
    newest = sorted(rows.values(), key=lambda r: (r["raised_at"], r["id"]), reverse=True)
    return newest[:limit]


def is_mine(session: Session, alert_id: int, user_id: int) -> bool:
    found = session.execute(
        select(SupervisorAlert.id).join(Case, col(Case.id) == SupervisorAlert.case_id)
        .where(col(SupervisorAlert.id) == alert_id, sa.or_(*_mine(user_id)))).first()
    return found is not None


def mark_read(session: Session, alert_ids: list[int], user_id: int,
              now: dt.datetime | None = None) -> None:
    """Mark these alerts read by the user; reading one twice keeps the first time."""
    if not alert_ids:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = AlertRead.__table__  # type: ignore[attr-defined]
    at = now or utcnow()
    session.execute(insert(table).values([
        {"alert_id": alert_id, "user_id": user_id, "read_at": at} for alert_id in alert_ids
    ]).on_conflict_do_nothing())


@bp.get("")
@login_required("agent")
def page() -> ResponseReturnValue:
    user = signed_in_user()
    assert user.id is not None
    with current_services().database.read() as db:
        reminders = reminders_for(db, user.id)
    unread = sum(1 for r in reminders if r["read_at"] is None)
    return render_template("supervisor/reminders.html", user=user, reminders=reminders,
                           unread=unread)


@bp.post("/<int:alert_id>/read")
@login_required("agent")
def read_one(alert_id: int) -> ResponseReturnValue:
    user = signed_in_user()
    assert user.id is not None
    with current_services().database.write() as db:
        if not is_mine(db, alert_id, user.id):
            abort(404, "No such reminder of yours.")
        mark_read(db, [alert_id], user.id)
    return redirect(url_for("reminders.page"), code=303)


@bp.post("/read-all")
@login_required("agent")
def read_all() -> ResponseReturnValue:
    user = signed_in_user()
    assert user.id is not None
    with current_services().database.write() as db:
        unread = [r["id"] for r in reminders_for(db, user.id) if r["read_at"] is None]
        mark_read(db, unread, user.id)
    return redirect(url_for("reminders.page"), code=303)
