"""The citizen's session token: the chat session id, signed with the app's secret and dated.

The browser keeps it (localStorage) and sends it with every request, so a reload or a new
connection finds the same chat; a forged or expired token finds nothing.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "webchat-session"


class TokenError(Exception):
    """The token is missing, forged or expired; the message says which, for the citizen."""


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def issue(secret: str, session_id: str) -> str:
    return _serializer(secret).dumps(session_id)


def session_of(secret: str, token: str, max_age_seconds: float) -> str:
    if not token:
        raise TokenError("This request needs the chat's session token.")
    try:
        value = _serializer(secret).loads(token, max_age=int(max_age_seconds))
    except SignatureExpired:
        raise TokenError("This chat session has expired: please start a new chat.") from None
    except BadSignature:
        raise TokenError("This chat session token is not valid: please start a new chat.") \
            from None
    if not isinstance(value, str):
        raise TokenError("This chat session token is not valid: please start a new chat.")
    return value
