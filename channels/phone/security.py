"""Webhook authentication: every /twilio/ request must carry a valid X-Twilio-Signature.

Twilio signs the URL it called. Behind a TLS proxy our request URL is http://internal:port,
so the signature is checked against phone.public_url (CC_TWILIO_PUBLIC_URL) plus the path
and query when that is set, else against the request's own URL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from flask import Request, abort, current_app, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator

from settings import Config


def signed_url(config: Config, req: Request) -> str:
    base = config["phone.public_url"].rstrip("/")
    return (base or f"{req.scheme}://{req.host}") + _as_requested(req)


def _as_requested(req: Request) -> str:
    """Path and query exactly as Twilio sent them: it signs the escaped URL (%2F, %E4…),
    which request.url and request.full_path give back decoded."""
    raw = req.environ.get("RAW_URI") or req.environ.get("REQUEST_URI") or ""
    if raw.startswith("/"):
        return str(raw)
    query = req.query_string.decode("latin-1")
    return quote(req.script_root + req.path, safe="/:@!$&'()*+,;=~") + (
        f"?{query}" if query else "")


def is_signed(config: Config, req: Request) -> bool:
    token = config["twilio.auth_token"]
    signature = req.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False  # no token configured: nothing can prove it is Twilio calling
    # A JSON body is signed through the bodySHA256 in the URL: the validator checks the
    # hash only when given the raw body, so an altered body cannot ride on a valid URL.
    params: Any = (req.get_data(as_text=True) if "bodySHA256" in req.args
                   else req.form)
    return bool(RequestValidator(token).validate(signed_url(config, req), params, signature))


def twilio_signed(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """403 before the view runs, so a forged or altered request writes nothing."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        services = current_app.extensions["contact_centre"]
        if not is_signed(services.config, request):
            abort(403, "X-Twilio-Signature is missing or wrong.")
        return view(*args, **kwargs)

    return wrapped
