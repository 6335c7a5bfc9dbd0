"""The agents' side: /board/chats lists the chats waiting in my departments and the chats
I hold; I take one (within my chat capacity) and talk live. POSTs carry the CSRF token."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from caseboard.models import Department, User, UserDepartment
from caseboard.web_auth import login_required, signed_in_user
from channels.webchat.bus import QUEUE_KEY, Line, agent_key
from channels.webchat.service import ChatService
from channels.webchat.store import ChatError, LineView, clean_client_id
from channels.webchat.streams import StreamParts, have_ids, last_event_id, refresh_seconds, stream

bp = Blueprint("webchat_board", __name__, url_prefix="/board/chats",
               template_folder="templates")


def _chat() -> ChatService:
    service: ChatService = current_app.extensions["webchat"]
    return service


def _departments(user: User) -> set[str]:
    with _chat().services.database.read() as session:
        if user.role in ("supervisor", "admin"):
            return set(session.execute(select(Department.id)).scalars())
        return set(session.execute(select(UserDepartment.department_id).where(
            col(UserDepartment.user_id) == user.id)).scalars())


def _my_session_ids(user: User) -> list[str]:
    return [c["id"] for c in _chat().agent_state(user, set())["mine"]]


@bp.errorhandler(ChatError)
def chat_error(error: ChatError) -> ResponseReturnValue:
    return jsonify(error="refused", message=error.message), error.status


@bp.get("")
@login_required("agent")
def page() -> ResponseReturnValue:
    return render_template("webchat/agent_chats.html", user=signed_in_user())


@bp.get("/state")
@login_required("agent")
def state() -> ResponseReturnValue:
    user = signed_in_user()
    data = _chat().agent_state(user, _departments(user))
    ids = [c["id"] for c in data["mine"]]
    data["lines"] = [{**LineView.of(line).as_dict(), "session": line.session_id}
                     for line in _chat().store.lines(ids, limit=5000)]
    return jsonify(data)


@bp.post("/<session_id>/take")
@login_required("agent")
def take(session_id: str) -> ResponseReturnValue:
    _chat().flows.take(session_id, signed_in_user())
    return jsonify(ok=True)


@bp.post("/<session_id>/messages")
@login_required("agent")
def post_message(session_id: str) -> ResponseReturnValue:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ChatError(400, "Send a JSON object.")
    line = _chat().flows.post_agent(session_id, signed_in_user(),
                                    clean_client_id(data.get("client_id")),
                                    str(data.get("text") or ""))
    return jsonify(line={**line.as_dict(), "session": session_id}), 201


@bp.post("/<session_id>/typing")
@login_required("agent")
def typing(session_id: str) -> ResponseReturnValue:
    user = signed_in_user()
    if session_id not in _my_session_ids(user):
        raise ChatError(409, "You do not hold this chat.")
    _chat().store.typing(session_id, "agent")
    return jsonify(ok=True)


@bp.post("/<session_id>/end")
@login_required("agent")
def end(session_id: str) -> ResponseReturnValue:
    _chat().flows.end_by_agent(session_id, signed_in_user())
    return jsonify(ok=True)


@bp.get("/events")
@login_required("agent")
def events() -> ResponseReturnValue:
    user = signed_in_user()
    assert user.id is not None
    chat, departments = _chat(), _departments(user)
    cursor = last_event_id(request.headers.get("Last-Event-ID"), request.args.get("after"))
    have = have_ids(request.args.get("have"))
    keys = (agent_key(user.id), QUEUE_KEY)
    sessions: set[str] = set()  # the chats I hold, as of the last state read
    joined: list[str] = []  # chats that became mine at the last state read
    first_read = [True]

    def read_state() -> dict[str, Any]:
        data = chat.agent_state(user, departments)
        now_mine = {c["id"] for c in data["mine"]}
        # At connect the page has read its chats' lines itself; a chat taken later comes
        # with its history, so its pane is whole when it opens.
        joined[:] = [] if first_read[0] else sorted(now_mine - sessions)
        first_read[0] = False
        sessions.clear()
        sessions.update(now_mine)
        return data

    def joined_lines() -> list[Line]:
        return [{**LineView.of(line).as_dict(), "session": line.session_id}
                for line in chat.store.lines(joined)] if joined else []

    def read_lines(after: int) -> list[Line]:
        return [{**LineView.of(line).as_dict(), "session": line.session_id}
                for line in chat.store.resume_lines(sorted(sessions), after, have)]

    def typing(state: dict[str, Any]) -> bool:
        return any(c["citizen_typing"] for c in state["mine"] + state["waiting"])

    parts = StreamParts(
        keys=keys, read_lines=read_lines, read_state=read_state,
        state_keys=lambda _state: keys,
        # A line of a chat not (yet) among mine makes the stream read the state first.
        wanted=lambda line, _state: line["session"] in sessions,
        view=lambda line: line,
        refresh_seconds=lambda state: refresh_seconds(typing(state)),
        joined_lines=joined_lines)
    return Response(stream(chat.bus, parts, cursor), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
