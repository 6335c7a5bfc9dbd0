"""The citizen's side of a satisfaction survey: /satisfaction/<signed token>, no sign-in.

GET only shows the question (a link preview or a mail scanner opening it records nothing);
the citizen's click on a score is a POST with a CSRF token, and the first answer counts.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue

from caseboard import satisfaction
from caseboard.models import Case
from caseboard.services import current_services
from caseboard.supervisor_models import Survey

bp = Blueprint("satisfaction", __name__, url_prefix="/satisfaction",
               template_folder="templates")


def _survey(token: str) -> Survey:
    survey_id = satisfaction.survey_id_from(current_app.config["SECRET_KEY"], token)
    if survey_id is None:
        abort(404, "This link is not valid.")
    with current_services().database.read() as db:
        survey = db.get(Survey, survey_id)
    if survey is None:
        abort(404, "This link is not valid.")
    return survey


def _reference(survey: Survey) -> str:
    with current_services().database.read() as db:
        case = db.get(Case, survey.case_id)
    return case.reference if case is not None else ""


@bp.get("/<token>")
def ask(token: str) -> ResponseReturnValue:
    survey = _survey(token)
    chosen = request.args.get("score", "")
    return render_template("supervisor/survey.html", user=None, survey=survey,
                           reference=_reference(survey), scores=satisfaction.SCORES,
                           chosen=int(chosen) if chosen.isdigit() else None, thanks=False)


@bp.post("/<token>")
def answer(token: str) -> ResponseReturnValue:
    survey = _survey(token)
    raw = request.form.get("score", "")
    if not raw.isdigit() or int(raw) not in satisfaction.SCORES:
        abort(400, "Choose a score from 1 to 5.")
    services = current_services()
    assert survey.id is not None
    with services.database.write() as db:
        recorded = satisfaction.record_score(db, survey.id, int(raw), services.calendar,
                                             services.config["supervisor.low_score"])
    return render_template("supervisor/survey.html", user=None, survey=recorded,
                           reference=_reference(survey), scores=satisfaction.SCORES,
                           chosen=recorded.score, thanks=True)
