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

from knowledge_base.articles import LANGUAGES, KbError
from knowledge_base.render_markdown import markdown_html
from knowledge_base.service import MAX_QUESTION_CHARS, KnowledgeBase
from knowledge_base.text import has_han

bp = Blueprint("help", __name__, url_prefix="/help", template_folder="templates")

WORDS: dict[str, dict[str, str]] = {
    "en": {"title": "Help", "search": "Search", "placeholder": "Ask a question",
           "no_answer": "We have no good answer to that yet. We have noted your question; "
                        "please contact us and an agent will help.",
           "empty": "Please type a question.", "results": "Answers", "key_facts": "Key facts",
           "did_help": "Did this help?", "yes": "Yes", "no": "No",
           "thanks": "Thank you for your feedback.", "other": "中文", "back": "Back to search",
           "version": "Version", "updated": "published"},
    "zh": {"title": "帮助", "search": "搜索", "placeholder": "请输入您的问题",
           "no_answer": "我们暂时没有合适的答案。您的问题已记录；请联系我们，工作人员会为您解答。",
           "empty": "请输入问题。", "results": "答案", "key_facts": "要点",
           "did_help": "这对您有帮助吗？", "yes": "有帮助", "no": "没有帮助",
           "thanks": "感谢您的反馈。", "other": "English", "back": "返回搜索",
           "version": "版本", "updated": "发布于"},
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
        except KbError as error:
            message = WORDS[lang]["empty"] if not question.strip() else str(error)
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
        abort(400, "Answer yes or no.")
    _kb().record_feedback(found.article.id, answer == "yes")
    return redirect(url_for("help.article", lang=lang, slug=slug, thanks=1), code=303)


def _other(lang: str) -> str:
    return "zh" if lang == "en" else "en"
