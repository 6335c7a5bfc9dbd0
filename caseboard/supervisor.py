"""Supervisor pages under /supervisor (supervisors and admins): the live dashboard, reports,
satisfaction and charts. The actions (reassigning, agents, extensions) are in
supervisor_actions.py; the public survey page in satisfaction_web.py.

The dashboard reads only the counter tables and small indexed queries (supervisor_queries);
the page polls /supervisor/live, a fragment rendered by the same template, every few seconds.
"""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    request,
    stream_with_context,
)
from flask.typing import ResponseReturnValue

from caseboard import charts, reports, satisfaction, supervisor_queries
from caseboard.models import utcnow
from caseboard.services import Services, current_services
from caseboard.web_auth import current_user, login_required
from routing.assignment import DEFAULT_CAPACITY

bp = Blueprint("supervisor", __name__, url_prefix="/supervisor", template_folder="templates",
               static_folder="static", static_url_path="/static")

LIVE_POLL_MS = 2000
MAX_REPORT_DAYS = 3660


def _dashboard_data() -> dict[str, object]:
    services = current_services()
    with services.database.read() as db:
        return supervisor_queries.dashboard(db, services.config, utcnow())


@bp.get("")
@bp.get("/")
@login_required("supervisor")
def dashboard() -> ResponseReturnValue:
    services = current_services()
    return render_template("supervisor/dashboard.html", user=current_user(),
                           data=_dashboard_data(), departments=_department_names(services),
                           poll_ms=LIVE_POLL_MS, capacity_kinds=sorted(DEFAULT_CAPACITY),
                           age=supervisor_queries.age)


@bp.get("/live")
@login_required("supervisor")
def live() -> ResponseReturnValue:
    """The dashboard's changing part alone, polled by the page."""
    return render_template("supervisor/dashboard_live.html", data=_dashboard_data(),
                           departments=_department_names(current_services()),
                           age=supervisor_queries.age)


@bp.get("/dashboard.json")
@login_required("supervisor")
def dashboard_json() -> ResponseReturnValue:
    return supervisor_queries.as_json(_dashboard_data())


def _department_names(services: Services) -> dict[str, str]:
    return {d.id: d.name.get("en", d.id) for d in services.config.departments}


# ---------------------------------------------------------------- reports


def _period() -> tuple[dt.datetime, dt.datetime]:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD (local days, both included); default: this month."""
    tz = current_services().config.timezone
    today = utcnow().astimezone(tz).date()
    try:
        return reports.period_bounds(request.args.get("from") or today.replace(day=1)
                                     .isoformat(),
                                     request.args.get("to") or today.isoformat(),
                                     tz, MAX_REPORT_DAYS)
    except ValueError as error:
        abort(400, str(error))


@bp.get("/reports/cases.csv")
@login_required("supervisor")
def cases_csv() -> ResponseReturnValue:
    start, end = _period()
    database = current_services().database
    rows = reports.case_rows(database, start, end, utcnow())
    name = f"cases-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return Response(stream_with_context(reports.csv_text(rows)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reports")
@login_required("supervisor")
def monthly() -> ResponseReturnValue:
    services = current_services()
    tz = services.config.timezone
    month = request.args.get("month") or utcnow().astimezone(tz).strftime("%Y-%m")
    try:
        first, after = reports.month_bounds(month, tz)
    except ValueError as error:
        abort(400, str(error))
    with services.database.read() as db:
        summary = reports.monthly_summary(db, first, after, tz)
    return render_template("supervisor/monthly.html", user=current_user(), month=month,
                           first=first, last=after - dt.timedelta(days=1), summary=summary,
                           departments=_department_names(services))


@bp.get("/satisfaction")
@login_required("supervisor")
def satisfaction_scores() -> ResponseReturnValue:
    with current_services().database.read() as db:
        tables = {name: satisfaction.scores_by(db, name)
                  for name in ("department", "channel", "agent", "article")}
    return render_template("supervisor/satisfaction.html", user=current_user(), tables=tables)


@bp.get("/charts")
@login_required("supervisor")
def chart_page() -> ResponseReturnValue:
    services = current_services()
    now = utcnow()
    with services.database.read() as db:
        figures = charts.all_charts(db, services.config.timezone, now)
    return render_template("supervisor/charts.html", user=current_user(), figures=figures)
