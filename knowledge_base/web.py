"""Self-service help pages at /help: search and read published articles in English and Chinese.

Server-rendered and autoescaped; article bodies are Markdown rendered to HTML and sanitised, so
a script in an article never reaches a browser. "Did this help?" is a POST carrying a CSRF
token kept in the signed session cookie.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from knowledge_base.articles import LANGUAGES
from knowledge_base.render_markdown import markdown_html
from knowledge_base.service import MAX_QUESTION_CHARS, KnowledgeBase, QuestionError
from knowledge_base.text import has_han

bp = Blueprint("help", __name__, url_prefix="/help", template_folder="templates")

WORDS: dict[str, dict[str, str]] = {
    "en": {"title": "Help", "search": "Search", "placeholder": "Ask a question",
           "no_answer": "We have no good answer to that yet. We have noted your question; "
                        "please contact us and an agent will help.",
           "empty": "Please type a question.", "results": "Answers", "key_facts": "Key facts",
           "did_help": "Did this help?", "yes": "Yes", "no": "No",
           "thanks": "Thank you for your feedback.", "other": "中文", "back": "Back to search",
           "version": "Version", "updated": "published",
           "too_long": "Your question is too long ({length} characters; at most {limit}). "
                       "Please shorten it.",
           "cannot_search": "We could not search for that. Please try again.",
           "not_found": "We could not find that page. It may have moved or no longer apply.",
           "answer_yes_no": "Please answer yes or no.",
           "bad_request": "We could not process that. Please go back and try again.",
           "error": "Something went wrong. Please try again later."},
    "zh": {"title": "帮助", "search": "搜索", "placeholder": "请输入您的问题",
           "no_answer": "我们暂时没有合适的答案。您的问题已记录；请联系我们，工作人员会为您解答。",
           "empty": "请输入问题。", "results": "答案", "key_facts": "要点",
           "did_help": "这对您有帮助吗？", "yes": "有帮助", "no": "没有帮助",
           "thanks": "感谢您的反馈。", "other": "English", "back": "返回搜索",
           "version": "版本", "updated": "发布于",
           "too_long": "您的问题太长（{length}个字符，最多{limit}个字符），请缩短后再试。",
           "cannot_search": "无法搜索该问题，请重试。",
           "not_found": "找不到该页面，它可能已移动或不再适用。",
           "answer_yes_no": "请选择“有帮助”或“没有帮助”。",
           "bad_request": "无法处理该请求，请返回后重试。",
           "error": "出现错误，请稍后再试。"},
}


def init_app(app: Flask, kb: KnowledgeBase) -> None:
    app.extensions["knowledge_base"] = kb
    app.register_blueprint(bp)


def _kb() -> KnowledgeBase:
    kb: KnowledgeBase = current_app.extensions["knowledge_base"]
    return kb


def _language(value: str | None) -> str:
    return value if value in LANGUAGES else "en"


def csrf_token() -> str:
    # The app checks every form's token (Flask-WTF's CSRFProtect, set up in app.py).
    return str(generate_csrf())


@bp.get("")
@bp.get("/")
def search() -> ResponseReturnValue:
    lang = _language(request.args.get("lang"))
    question = request.args.get("q")
    results, message = [], ""
    if question is not None:
        try:
            # A question typed in Chinese on the English page still wants Chinese answers.
            outcome = _kb().search(question, language="zh" if has_han(question) else lang)
        except QuestionError as error:
            message = _question_error(lang, error)
        else:
            results = outcome.results
            message = WORDS[lang]["no_answer"] if outcome.gap else ""
    return render_template("help/search.html", lang=lang, words=WORDS[lang], question=question,
                           results=results, message=message, max_chars=MAX_QUESTION_CHARS,
                           other=_other(lang))


@bp.get("/<lang>/<slug>")
def article(lang: str, slug: str) -> ResponseReturnValue:
    if lang not in LANGUAGES:
        abort(404)
    found = _kb().published(slug, lang)
    if found is None:
        abort(404)
    body = Markup(markdown_html(found.version.body))  # sanitised by nh3
    return render_template("help/article.html", lang=lang, words=WORDS[lang], found=found,
                           body=body, csrf_token=csrf_token(), other=_other(lang),
                           thanks=request.args.get("thanks") == "1")


@bp.post("/<lang>/<slug>/feedback")
def feedback(lang: str, slug: str) -> ResponseReturnValue:
    found = _kb().published(slug, lang) if lang in LANGUAGES else None
    if found is None or found.article.id is None:
        abort(404)
    answer = request.form.get("helpful")
    if answer not in ("yes", "no"):
        return _error_page(lang, 400, WORDS[lang]["answer_yes_no"])
    _kb().record_feedback(found.article.id, answer == "yes")
    return redirect(url_for("help.article", lang=lang, slug=slug, thanks=1), code=303)


@bp.errorhandler(HTTPException)
def error_page(error: HTTPException) -> ResponseReturnValue:
    """Errors on the help pages (a missing article, a forged form) in the page's language."""
    args = request.view_args or {}
    lang = _language(args.get("lang") or request.args.get("lang"))
    code = error.code or 500
    words = WORDS[lang]
    if code == 404:
        message = words["not_found"]
    else:
        message = words["bad_request"] if 400 <= code < 500 else words["error"]
    return _error_page(lang, code, message)


def _error_page(lang: str, code: int, message: str) -> ResponseReturnValue:
    page = render_template("help/error.html", lang=lang, words=WORDS[lang], message=message,
                           other=_other(lang))
    return page, code


def _question_error(lang: str, error: QuestionError) -> str:
    words = WORDS[lang]
    if error.reason == "empty":
        return words["empty"]
    if error.reason == "too_long":
        return words["too_long"].format(length=error.length, limit=error.limit)
    return words["cannot_search"]


def _other(lang: str) -> str:
    return "zh" if lang == "en" else "en"
