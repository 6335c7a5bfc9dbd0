"""The board's navigation: links the case board's own pages and each channel add at start-up.

A channel's init_channel calls add_link(app, ...) for its board pages (calls waiting, chats,
the letters print queue), so the board template lists them without the board importing
channels. Links are shown to users whose role is at least the link's role.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from caseboard.web_auth import ROLE_RANK, current_user

_KEY = "board_navigation"


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str
    role: str = "agent"


def add_link(app: Flask, label: str, endpoint: str, role: str = "agent") -> None:
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")
    app.extensions.setdefault(_KEY, []).append(NavLink(label, endpoint, role))


def links_for(app: Flask, role: str) -> list[NavLink]:
    rank = ROLE_RANK.get(role, -1)
    return [link for link in app.extensions.get(_KEY, []) if rank >= ROLE_RANK[link.role]]


def init_app(app: Flask) -> None:
    @app.context_processor
    def _board_links() -> dict[str, object]:
        def board_links() -> list[NavLink]:
            user = current_user()
            return [] if user is None else links_for(app, user.role)

        return {"board_links": board_links}
