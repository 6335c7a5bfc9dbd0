"""The web chat channel: the citizen's widget at /chat (and an embed script for other sites),
self-service answers from the knowledge base, a live conversation with an agent on
/board/chats, a message case when nobody is there, the transcript on the case.

models.py holds the chat's tables; store.py and flows.py the writes; streams.py the SSE
streams; citizen.py and agent.py the two blueprints; transport.py the outbox transport.
"""

from __future__ import annotations

from typing import Any

from caseboard.navigation import add_link
from caseboard.outbox import register_transport
from caseboard.satisfaction import register_can_ask
from caseboard.services import Services
from caseboard.supervisor_waiting import register_waiting_now


def init_channel(app: Any, services: Services) -> None:
    from channels.webchat import agent, citizen
    from channels.webchat.service import ChatService
    from channels.webchat.supervision import chats_waiting, citizen_in_chat

    chat = ChatService(services, app.config["SECRET_KEY"])
    app.extensions["webchat"] = chat
    app.register_blueprint(citizen.pages)
    app.register_blueprint(citizen.api)
    app.register_blueprint(agent.bp)
    add_link(app, "Chats", "webchat_board.page")
    app.extensions["csrf"].exempt(citizen.api)  # token in a header, not a cookie: no CSRF
    register_transport("webchat", chat.transport)
    register_waiting_now("webchat", chats_waiting)  # the dashboard's "chats waiting now"
    register_can_ask("webchat", citizen_in_chat)  # else the survey goes by email or SMS
