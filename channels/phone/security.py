"""Webhook authentication: every /twilio/ request must carry a valid X-Twilio-Signature.

Twilio signs the URL it called. Behind a TLS proxy our request URL is http://internal:port,
so the signature is checked against phone.public_url (CC_TWILIO_PUBLIC_URL) plus the path
and query when that is set, else against the request's own URL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlparse

from flask import Request, abort, current_app, request
from flask.typing import ResponseReturnValue
from twilio.request_validator import RequestValidator, add_port, compare, remove_port
from werkzeug.datastructures import MultiDict

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


@functools.lru_cache(maxsize=16)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


@functools.lru_cache(maxsize=128)  # a few webhook URLs, each asked for all day long
def _url_forms(url: str) -> tuple[str, str]:
    """The URL without and with its port, as RequestValidator.validate tries both (Twilio
    signs with or without the port, depending on its back end)."""
    parsed = urlparse(url)
    return remove_port(parsed), add_port(parsed)


class _Params(dict[str, list[str]]):
    """A form's fields as compute_signature reads them: its getall() is tried first, where a
    werkzeug MultiDict costs an AttributeError for every field before getlist() is found."""

    def getall(self, name: str) -> list[str]:
        return self[name]


def valid_form_signature(token: str, url: str, form: MultiDict[str, str],
                         signature: str) -> bool:
    """RequestValidator.validate for form parameters, without its work we can spare: the URL
    forms are parsed once per URL, and the with-port signature is computed only when the
    one without the port did not match (validate computes both and accepts either)."""
    validator, params = _validator(token), _Params(form.lists())
    without_port, with_port = _url_forms(url)
    return (compare(validator.compute_signature(without_port, params), signature)
            or compare(validator.compute_signature(with_port, params), signature))


def is_signed(config: Config, req: Request) -> bool:
    token = config["twilio.auth_token"]
    signature = req.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        return False  # no token configured: nothing can prove it is Twilio calling
    url = signed_url(config, req)
    if req.query_string and "bodySHA256" in req.args:
        # A JSON body is signed through the bodySHA256 in the URL: the validator checks the
        # hash only when given the raw body, so an altered body cannot ride on a valid URL.
        return bool(_validator(token).validate(url, req.get_data(as_text=True), signature))
    return valid_form_signature(token, url, req.form, signature)


def twilio_signed(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """403 before the view runs, so a forged or altered request writes nothing."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        services = current_app.extensions["contact_centre"]
        # The request itself, not the proxy: is_signed reads it a dozen times.
        req = request._get_current_object()  # type: ignore[attr-defined]
        if not is_signed(services.config, req):
            abort(403, "X-Twilio-Signature is missing or wrong.")
        return view(*args, **kwargs)

    return wrapped
