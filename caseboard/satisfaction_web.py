"""The citizen's side of a satisfaction survey: /satisfaction/<signed token>, no sign-in.

GET only shows the question (a link preview or a mail scanner opening it records nothing);
the citizen's click on a score is a POST with a CSRF token, and the first answer counts.

Like the other public pages (/help, the chat widget) it speaks the citizen's language: the
case's language (the one the survey message was sent in) unless `lang` asks for the other,
under the administration's name rather than the staff board's header.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from caseboard import satisfaction
from caseboard.models import Case
from caseboard.services import current_services
from caseboard.supervisor_models import Survey

bp = Blueprint("satisfaction", __name__, url_prefix="/satisfaction",
               template_folder="templates")

LANGUAGES = ("en", "zh")
WORDS: dict[str, dict[str, str]] = {
    "en": {"title": "How did we do?",
           "question": "How satisfied are you with how we handled {reference}?",
           "low": "not at all satisfied", "high": "very satisfied",
           "scale": "Choose 1 (not at all satisfied) to 5 (very satisfied).",
           "score": "{score} of 5",
           "thanks": "Thank you: we recorded your answer ({score} of 5) for {reference}.",
           "already": "You already answered for {reference} ({score} of 5). Thank you.",
           "choose": "Please choose a score from 1 to 5.",
           "invalid": "This link is not valid. Please check that you copied all of it.",
           "other": "中文"},
    "zh": {"title": "您对我们的服务满意吗？",
           "question": "您对我们处理 {reference} 的满意度如何？",
           "low": "很不满意", "high": "非常满意",
           "scale": "请选择 1（很不满意）到 5（非常满意）。",
           "score": "{score}分（满分5分）",
           "thanks": "谢谢！我们已记录您对 {reference} 的评价：{score}分（满分5分）。",
           "already": "您已对 {reference} 作出评价：{score}分（满分5分）。谢谢！",
           "choose": "请选择 1 到 5 之间的分数。",
           "invalid": "此链接无效，请检查链接是否完整。",
           "other": "English"},
}


def _survey(token: str) -> Survey | None:
    survey_id = satisfaction.survey_id_from(current_app.config["SECRET_KEY"], token)
    if survey_id is None:
        return None
    with current_services().database.read() as db:
        return db.get(Survey, survey_id)


def _case(survey: Survey) -> Case | None:
    with current_services().database.read() as db:
        return db.get(Case, survey.case_id)


def _language(case: Case | None) -> str:
    asked = request.values.get("lang")
    return asked if asked in LANGUAGES else satisfaction.survey_language(case)


def _page(survey: Survey | None, case: Case | None, *, chosen: int | None = None,
          thanks: bool = False, error: str = "", status: int = 200) -> ResponseReturnValue:
    lang = _language(case)
    words = WORDS[lang]
    reference = case.reference if case is not None else ""
    other = "zh" if lang == "en" else "en"
    page = render_template(
        "supervisor/survey.html", lang=lang, words=words, other=other, other_words=WORDS[other],
        administration=current_services().config["administration.name"], survey=survey,
        reference=reference, scores=satisfaction.SCORES, chosen=chosen, thanks=thanks,
        error=error)
    return page, status


@bp.get("/<token>")
def ask(token: str) -> ResponseReturnValue:
    survey = _survey(token)
    if survey is None:
        return _page(None, None, error="invalid", status=404)
    chosen = request.args.get("score", "")
    return _page(survey, _case(survey), chosen=int(chosen) if chosen.isdigit() else None)


@bp.post("/<token>")
def answer(token: str) -> ResponseReturnValue:
    survey = _survey(token)
    if survey is None:
        return _page(None, None, error="invalid", status=404)
    case = _case(survey)
    raw = request.form.get("score", "")
    if not raw.isdigit() or int(raw) not in satisfaction.SCORES:
        return _page(survey, case, error="choose", status=400)
    services = current_services()
    assert survey.id is not None
    with services.database.write() as db:
        recorded = satisfaction.record_score(db, survey.id, int(raw), services.calendar,
                                             services.config["supervisor.low_score"])
    return _page(recorded, case, chosen=recorded.score, thanks=True)
