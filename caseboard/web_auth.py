"""Signing in to the board: password check, lock-out, session, and role checks for pages.

Passwords are argon2 hashes (caseboard/auth.py). After MAX_FAILURES wrong passwords in a row
an account is locked for LOCK_MINUTES; the message never says whether a user name exists:
an unknown name is throttled the same way (its count kept in this process's memory, bounded,
never as a user row) and still costs one argon2 check.
The session cookie is signed, HttpOnly and SameSite=Lax; it remembers the user and a
fingerprint of their password hash, so changing a password signs out every other session.
Every form on every page carries a CSRF token (Flask-WTF's CSRFProtect, set up in app.py).
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlmodel import col, select

from caseboard import audit, auth
from caseboard.models import User, utcnow
from caseboard.services import current_services

bp = Blueprint("auth", __name__, template_folder="templates")

MAX_FAILURES = 5
LOCK_MINUTES = 15
ROLE_RANK = {"agent": 1, "supervisor": 2, "admin": 3}
GENERIC_FAILURE = "Wrong user name or password."


def _fingerprint(user: User) -> str:
    return user.password_hash[-16:]


def current_user() -> User | None:
    """The signed-in user of this request, or None (also when the account changed)."""
    if "user" in g:
        cached: User | None = g.user
        return cached
    user = None
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        with current_services().database.read() as db:
            found = db.get(User, user_id)
        if found and found.active and session.get("auth") == _fingerprint(found):
            user = found
    g.user = user
    return user


def signed_in_user() -> User:
    """The signed-in user, in a view that login_required already guards."""
    user = current_user()
    assert user is not None and user.id is not None  # login_required ran first
    return user


def login_required(role: str = "agent") -> Callable[[Callable[..., ResponseReturnValue]],
                                                    Callable[..., ResponseReturnValue]]:
    """A page for `role` and above; others are sent to sign in, or refused with 403."""

    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if ROLE_RANK.get(user.role, 0) < ROLE_RANK[role]:
                abort(403, f"This page is for {role}s.")
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.get("/login")
def login() -> ResponseReturnValue:
    return render_template("board/login.html", error="", username="",
                           next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_post() -> ResponseReturnValue:
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")[:1024]
    target = _safe_next(request.form.get("next"))
    error, user = _check_password(username, password)
    if user is None:
        return render_template("board/login.html", error=error, username=username,
                               next=target), 401
    session.clear()  # a fresh session on sign-in: no fixation
    session["user_id"], session["auth"] = user.id, _fingerprint(user)
    session.permanent = True
    return redirect(target, code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    return redirect(url_for("auth.login"), code=303)


def _check_password(username: str, password: str) -> tuple[str, User | None]:
    now = utcnow()
    with current_services().database.write() as db:
        user = db.execute(select(User).where(col(User.username) == username)
                          ).scalar_one_or_none()
        if user is None or not user.active:
            return _refuse_unknown(username, password, now), None
        if user.locked_until is not None and user.locked_until > now:
            return _locked_message(user.locked_until), None
        if not auth.verify_password(user.password_hash, password):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
                user.failed_logins = 0
                audit.record(db, None, "system", "account_locked", "board", user=username)
            db.add(user)
            return GENERIC_FAILURE, None
        user.failed_logins, user.locked_until = 0, None
        db.add(user)
        audit.record(db, None, username, "signed_in", "board", address=request.remote_addr)
        return "", user


def _locked_message(locked_until: dt.datetime) -> str:
    until = locked_until.astimezone(current_services().config.timezone)
    return f"Too many failed attempts: try again after {until:%H:%M}."


def _refuse_unknown(username: str, password: str, now: dt.datetime) -> str:
    """An unknown (or deactivated) name is answered exactly like a real account: the same
    message, the same lock-out after MAX_FAILURES and a real argon2 check, so neither the
    text nor the timing tells whether the name exists."""
    throttle = current_app.extensions.setdefault("sign_in_unknown_names", UnknownNames())
    locked_until = throttle.locked_until(username, now)
    if locked_until is not None:
        return _locked_message(locked_until)
    auth.verify_password(_DUMMY_HASH, password)  # same time as a real check
    throttle.fail(username, now)
    return GENERIC_FAILURE


class UnknownNames:
    """Failure counts of names that are no account, kept in memory, never as user rows.

    At most `limit` names are remembered (the least recently failed are forgotten first),
    so a flood of invented names cannot grow memory; each entry mirrors User.failed_logins
    and User.locked_until."""

    def __init__(self, limit: int = 10_000) -> None:
        self._limit = limit
        self._entries: OrderedDict[str, tuple[int, dt.datetime | None]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def locked_until(self, name: str, now: dt.datetime) -> dt.datetime | None:
        with self._lock:
            _, until = self._entries.get(name, (0, None))
        return until if until is not None and until > now else None

    def fail(self, name: str, now: dt.datetime) -> None:
        with self._lock:
            failures, until = self._entries.pop(name, (0, None))
            if until is not None and until <= now:
                failures, until = 0, None  # the lock ran out: a fresh start, as for users
            failures += 1
            if failures >= MAX_FAILURES:
                failures, until = 0, now + dt.timedelta(minutes=LOCK_MINUTES)
            self._entries[name] = (failures, until)
            while len(self._entries) > self._limit:
                self._entries.popitem(last=False)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never send a signed-in user to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("board.presence")
    parts = urlsplit(target)
    return target if not parts.netloc and not parts.scheme else url_for("board.presence")


_DUMMY_HASH = auth.hash_password("timing-equaliser-not-a-password")
