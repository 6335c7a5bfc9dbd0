"""Users and API tokens: argon2 password hashes, bearer tokens stored only as SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from caseboard.models import ApiToken, Department, User, UserDepartment, utcnow
from settings import ROLES, TOKEN_ROLES

_hasher = PasswordHasher()
TOKEN_PREFIX = "cc_"
MIN_PASSWORD_LENGTH = 10


class AuthError(ValueError):
    """Bad user or token input; the message is safe to show."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(session: Session, username: str, role: str, password: str, *,
                display_name: str = "", departments: tuple[str, ...] = (),
                languages: tuple[str, ...] = ("en",)) -> User:
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if not username.isidentifier() or len(username) > 64:
        raise AuthError(f"invalid user name {username!r}")
    if session.execute(select(User.id).where(col(User.username) == username)).first():
        raise AuthError(f"user {username!r} already exists")
    for department in departments:
        if session.get(Department, department) is None:
            raise AuthError(f"unknown department {department!r}")
    user = User(username=username, display_name=display_name or username, role=role,
                password_hash=hash_password(password), languages=list(languages),
                capacity={})  # empty: the defaults from [assignment] capacity
    session.add(user)
    session.flush()
    assert user.id is not None
    for department in departments:
        session.add(UserDepartment(user_id=user.id, department_id=department))
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: str,
                 expires_in: dt.timedelta | None = None, *, user: str | None = None) -> str:
    """Create a token and return it; it is never stored or shown again.

    `user` is the username the token acts for: it reads the cases that user sees on the board,
    and its role may not be above the user's. Without one, supervisor and admin tokens read
    every department (as supervisors do on the board) and agent tokens read no cases.
    """
    if role not in TOKEN_ROLES:
        raise AuthError(f"unknown role {role!r} (one of {', '.join(TOKEN_ROLES)})")
    if not name.strip() or len(name) > 64:
        raise AuthError("a token needs a name of at most 64 characters")
    user_id = _token_user(session, role, user) if user is not None else None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(ApiToken(name=name, role=role, user_id=user_id, token_hash=_digest(token),
                         created_at=now, expires_at=now + expires_in if expires_in else None))
    return token


def _token_user(session: Session, role: str, username: str) -> int:
    if role not in ROLES:
        raise AuthError(f"{role} tokens read nothing, so they act for no user: "
                        "leave the user out")
    row = session.execute(select(User).where(col(User.username) == username)
                          ).scalar_one_or_none()
    if row is None or not row.active:
        raise AuthError(f"no active user {username!r}")
    if ROLES.index(role) > ROLES.index(row.role):
        article = "an" if row.role[0] in "aeiou" else "a"
        allowed = " or ".join(ROLES[:ROLES.index(row.role) + 1])
        raise AuthError(f"{username} is {article} {row.role}: a token acting for them may have "
                        f"role {allowed}")
    assert row.id is not None
    return row.id


@dataclass(frozen=True)
class TokenIdentity:
    name: str
    role: str
    user_id: int | None = None  # the user the token acts for (None: see create_token)


def check_token(session: Session, token: str, now: dt.datetime | None = None
                ) -> TokenIdentity | None:
    """The token's holder, or None when it is unknown, revoked or expired, or when the user
    it acts for has been deactivated. A token never has more rights than its user has now:
    a supervisor's token becomes an agent's token when they become an agent."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.execute(select(ApiToken).where(col(ApiToken.token_hash) == _digest(token))
                          ).scalar_one_or_none()
    now = now or utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.user_id is None:
        return TokenIdentity(row.name, row.role)
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.role not in ROLES:
        return None
    role = min(row.role, user.role, key=ROLES.index) if row.role in ROLES else row.role
    return TokenIdentity(row.name, role, user.id)
