"""The citizen's side: the /chat page, the embed script, and the JSON + SSE chat API.

The API is authenticated by the signed session token (header X-Chat-Token; the query string
for EventSource, which cannot send headers), not by cookies, so it needs no CSRF token and
works from the administration's other sites. Those sites are listed in chat.allowed_origins;
a browser request from any other origin is refused before anything is read or stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from channels.webchat import phrases, tokens
from channels.webchat.bus import QUEUE_KEY, Line, session_key
from channels.webchat.service import ChatService
from channels.webchat.store import ChatError, LineView, clean_client_id, clean_text
from channels.webchat.streams import StreamParts, have_ids, last_event_id, refresh_seconds, stream
from knowledge_base.articles import KbError

SURVEY_REFRESH_SECONDS = 5.0

pages = Blueprint("webchat", __name__, url_prefix="/chat", template_folder="templates",
                  static_folder="static", static_url_path="/static")
api = Blueprint("webchat_api", __name__, url_prefix="/chat/api")


def _chat() -> ChatService:
    service: ChatService = current_app.extensions["webchat"]
    return service


@pages.get("")
def page() -> ResponseReturnValue:
    language = "zh" if request.args.get("lang") == "zh" else "en"
    return render_template("webchat/chat.html", language=language)


@pages.get("/embed.js")
def embed() -> ResponseReturnValue:
    """The one-line embed: <script src=".../chat/embed.js" async></script> loads the widget."""
    response = pages.send_static_file("chat.js")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


# ---------------------------------------------------------------- origins (CORS)


def _own_origin() -> str:
    return request.host_url.rstrip("/")


def _allowed(origin: str) -> bool:
    return origin == _own_origin() or origin in _chat().allowed_origins


@api.before_request
def check_origin() -> ResponseReturnValue | None:
    origin = request.headers.get("Origin", "")
    if origin and not _allowed(origin):
        return jsonify(error="origin_not_allowed", message=phrases.say(
            _asked_language(), "origin_refused", origin=origin)), 403
    if request.method == "OPTIONS":
        return Response(status=204)
    return None


@api.after_request
def cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin", "")
    if origin and origin != _own_origin() and _allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Chat-Token"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
    response.headers["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------- refusals, in the chat's language


def _asked_language() -> str:
    """The language the request asks for: the widget adds ?lang= to every call (a new chat's
    also says it in its body), so a refusal before there is a chat is in the widget's."""
    asked = g.get("chat_language") or request.args.get("lang", "")
    return "zh" if asked == "zh" else "en"


def _language() -> str:
    """The language of the citizen's messages: their chat's, else the one the request asks
    for. Looked up only when refusing, so the chat's own calls pay nothing for it."""
    token = request.headers.get("X-Chat-Token") or request.args.get("token", "")
    if token:
        try:
            return _chat().store.get(_chat().session_of(token)).language
        except (ChatError, tokens.TokenError):
            pass  # no chat (any more): the request's language
    return _asked_language()


@api.errorhandler(ChatError)
def chat_error(error: ChatError) -> ResponseReturnValue:
    return jsonify(error="refused", message=error.in_language(_language())), error.status


@api.errorhandler(tokens.TokenError)
def token_error(error: tokens.TokenError) -> ResponseReturnValue:
    return jsonify(error="session", message=phrases.say(_asked_language(), error.phrase)), 401


@api.errorhandler(HTTPException)
def http_error(error: HTTPException) -> ResponseReturnValue:
    code = error.code or 500
    if code == 413:
        message = phrases.say(_language(), "far_too_long",
                              limit=current_app.config["MAX_CONTENT_LENGTH"])
    else:
        message = phrases.say(_language(), "not_found" if code == 404 else "refused", code=code)
    return jsonify(error=error.name, message=message), code


# ---------------------------------------------------------------- helpers


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ChatError.citizen(400, "not_json")
    return data


def _session_id() -> str:
    token = request.headers.get("X-Chat-Token") or request.args.get("token", "")
    return _chat().session_of(token)


def _address() -> str:
    return str(request.remote_addr or "")


def _state(session_id: str) -> dict[str, Any]:
    return _chat().citizen_state(session_id)


# ---------------------------------------------------------------- the API


@api.post("/sessions")
def start() -> ResponseReturnValue:
    data = _body()
    name = str(data.get("name") or "")
    g.chat_language = str(data.get("language") or "")
    chat = _chat().store.start(str(data.get("language") or "en"), name,
                               request.headers.get("Origin", ""), _address())
    return jsonify(token=_chat().token_for(chat.id), state=_state(chat.id)), 201


@api.get("/history")
def history() -> ResponseReturnValue:
    session_id = _session_id()
    lines = [LineView.of(line).as_dict() for line in _chat().store.lines([session_id])]
    return jsonify(lines=lines, state=_state(session_id))


@api.post("/suggest")
def suggest() -> ResponseReturnValue:
    session_id = _session_id()
    chat = _chat().store.get(session_id)
    text = clean_text(_body().get("text"))[:500]
    if len(text.strip()) < 3:
        return jsonify(articles=[])
    try:
        outcome = _chat().services.kb.search(text, chat.language, limit=3, record_gap=False)
    except KbError:
        return jsonify(articles=[])
    return jsonify(articles=[{"slug": r.slug, "language": r.language, "title": r.title,
                              "short_answer": r.short_answer, "version": r.version,
                              "url": f"/help/{r.language}/{r.slug}"}
                             for r in outcome.results])


@api.post("/answered")
def answered() -> ResponseReturnValue:
    data = _body()
    reference = _chat().flows.answered_by_article(
        _session_id(), str(data.get("question") or ""), clean_text(data.get("slug")),
        clean_text(data.get("language") or "en"))
    return jsonify(reference=reference, state=_state(_session_id()))


@api.post("/handover")
def handover() -> ResponseReturnValue:
    data = _body()
    session_id = _session_id()
    _chat().flows.handover(session_id, str(data.get("text") or ""),
                           clean_client_id(data.get("client_id")), _address())
    return jsonify(state=_state(session_id))


@api.post("/messages")
def post_message() -> ResponseReturnValue:
    data = _body()
    line = _chat().store.post_citizen(_session_id(), clean_client_id(data.get("client_id")),
                                      str(data.get("text") or ""), _address())
    return jsonify(line=line.as_dict()), 201


@api.post("/typing")
def typing() -> ResponseReturnValue:
    session_id = _session_id()
    _chat().store.typing(session_id, "citizen")
    return jsonify(ok=True)


@api.post("/contact")
def contact() -> ResponseReturnValue:
    data = _body()
    _chat().flows.leave_contact(_session_id(), str(data.get("email") or ""),
                                str(data.get("phone") or ""))
    return jsonify(state=_state(_session_id()))


@api.post("/transcript")
def transcript() -> ResponseReturnValue:
    confirmation = _chat().flows.email_transcript(_session_id(),
                                                  str(_body().get("email") or ""))
    return jsonify(ok=True, message=confirmation)


@api.post("/end")
def end() -> ResponseReturnValue:
    _chat().flows.end_by_citizen(_session_id())
    return jsonify(state=_state(_session_id()))


@api.post("/survey")
def survey() -> ResponseReturnValue:
    """The citizen's score for the question at the end of the chat (the first one counts)."""
    data = _body()
    session_id = _session_id()
    line, score = _chat().surveys.answer(session_id, data.get("token"), data.get("score"))
    return jsonify(line=line.as_dict(), score=score, state=_state(session_id))


@api.get("/events")
def events() -> ResponseReturnValue:
    session_id = _session_id()
    chat = _chat()
    cursor = last_event_id(request.headers.get("Last-Event-ID"), request.args.get("after"))
    have = have_ids(request.args.get("have"))
    mine = session_key(session_id)

    def read_lines(after: int) -> list[Line]:
        return [{**LineView.of(line).as_dict(), "session": session_id}
                for line in chat.store.resume_lines([session_id], after, have)]

    parts = StreamParts(
        keys=(mine, QUEUE_KEY), read_lines=read_lines,
        read_state=lambda: chat.citizen_state(session_id),
        # The queue moves for everyone waiting; once live, only the chat's own changes count.
        state_keys=lambda state: (mine, QUEUE_KEY) if state is None
        or state.get("status") == "queued" else (mine,),
        wanted=lambda _line, _state: True,
        view=lambda line: {k: v for k, v in line.items() if k != "session"},
        # Waiting for the question after the end: look again soon, the wait has a limit.
        refresh_seconds=lambda state: SURVEY_REFRESH_SECONDS if state.get("awaiting_survey")
        else refresh_seconds(bool(state.get("agent_typing"))))
    return Response(stream(chat.bus, parts, cursor), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
