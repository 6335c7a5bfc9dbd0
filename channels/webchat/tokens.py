"""The citizen's session token: the chat session id, signed with the app's secret and dated.

The browser keeps it (localStorage) and sends it with every request, so a reload or a new
connection finds the same chat; a forged or expired token finds nothing.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from channels.webchat import phrases

SALT = "webchat-session"


class TokenError(Exception):
    """The token is missing, forged or expired; `phrase` names the citizen's words for which
    (phrases.py), the message is the English text."""

    def __init__(self, phrase: str) -> None:
        super().__init__(phrases.say("en", phrase))
        self.phrase = phrase


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def issue(secret: str, session_id: str) -> str:
    return _serializer(secret).dumps(session_id)


def session_of(secret: str, token: str, max_age_seconds: float) -> str:
    if not token:
        raise TokenError("token_missing")
    try:
        value = _serializer(secret).loads(token, max_age=int(max_age_seconds))
    except SignatureExpired:
        raise TokenError("token_expired") from None
    except BadSignature:
        raise TokenError("token_invalid") from None
    if not isinstance(value, str):
        raise TokenError("token_invalid")
    return value
