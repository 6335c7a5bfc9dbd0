"""JSON API v1: bearer tokens with roles; every error is JSON with a clear message."""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest, Forbidden, NotFound, Unauthorized

from caseboard import auth, queries
from caseboard.contacts import CONTROL_CHARACTERS, InboundContact, Sender
from caseboard.intake import REPLY_IDENTITY, IntakeError
from caseboard.models import CaseStatus
from caseboard.services import Services
from knowledge_base.articles import LANGUAGES
from settings import CHANNELS

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

STAFF = ("agent", "supervisor", "admin")
CONTACT_FIELDS = {"channel", "external_id", "sender", "subject", "text", "language",
                  "department", "service", "received_at"}
SENDER_FIELDS = {"name", "email", "phone", "address", "postcode"}
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")  # "en", "zh-cn", "zh-hans-cn"


def services() -> Services:
    services: Services = current_app.extensions["contact_centre"]
    return services


def require_token(*roles: str) -> Callable[[Callable[..., ResponseReturnValue]],
                                           Callable[..., ResponseReturnValue]]:
    def decorate(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            header = request.headers.get("Authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("a bearer token is required (Authorization: Bearer …)")
            with services().database.read() as session:
                holder = auth.check_token(session, token.strip())
            if holder is None:
                raise Unauthorized("the token is invalid, revoked or expired")
            if holder.role not in roles:
                raise Forbidden(f"role {holder.role!r} may not do this "
                                f"(needs one of {', '.join(roles)})")
            g.token = holder
            return view(*args, **kwargs)

        return wrapped

    return decorate


@bp.post("/contacts")
@require_token(*STAFF, "intake")
def post_contact() -> ResponseReturnValue:
    contact = _contact_from_json(_json_object())
    try:
        result = services().intake.take(contact)
    except IntakeError as error:
        raise BadRequest(str(error)) from error
    status = 200 if result.outcome == "duplicate" else 201
    return jsonify(reference=result.reference, outcome=result.outcome.value), status


@bp.get("/cases")
@require_token(*STAFF)
def list_cases() -> ResponseReturnValue:
    args = request.args
    unknown = set(args) - {"status", "department", "channel", "q", "page"}
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    status = args.get("status") or None
    if status and status not in set(CaseStatus):
        raise BadRequest(f"unknown status {status!r}")
    channel = args.get("channel") or None
    if channel and channel not in CHANNELS:
        raise BadRequest(f"unknown channel {channel!r}")
    department = args.get("department") or None
    if department and services().config.department(department) is None:
        raise BadRequest(f"unknown department {department!r}")
    page_text = args.get("page", "1")
    if not page_text.isdigit() or int(page_text) < 1:
        raise BadRequest("page must be a positive whole number")
    filters = queries.CaseFilter(status, department, channel, (args.get("q") or "").strip())
    with services().database.read() as session:
        cases, total = queries.list_cases(session, filters, int(page_text))
        return jsonify(cases=[queries.case_summary(c) for c in cases], page=int(page_text),
                       page_size=queries.PAGE_SIZE, total=total)


@bp.get("/cases/<reference>")
@require_token(*STAFF)
def get_case(reference: str) -> ResponseReturnValue:
    with services().database.read() as session:
        case = queries.case_by_reference(session, reference)
        if case is None:
            raise NotFound(f"no case {reference!r}")
        return jsonify(queries.case_detail(session, case))


@bp.get("/departments")
@require_token(*STAFF, "intake")
def list_departments() -> ResponseReturnValue:
    with services().database.read() as session:
        return jsonify(departments=queries.departments(session))


def _json_object() -> dict[str, Any]:
    if not request.is_json:
        raise BadRequest("send a JSON object with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body is not a valid JSON object")
    return body


def _contact_from_json(body: dict[str, Any]) -> InboundContact:
    unknown = set(body) - CONTACT_FIELDS
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))}")
    channel = body.get("channel")
    if channel not in CHANNELS:
        raise BadRequest(f"channel must be one of {', '.join(CHANNELS)}")
    sender_data = body.get("sender")
    if not isinstance(sender_data, dict):
        raise BadRequest("sender is required: an object with name, email, phone or address")
    unknown = set(sender_data) - SENDER_FIELDS
    if unknown:
        raise BadRequest(f"unknown sender field(s): {', '.join(sorted(unknown))}")
    strings = {key: _string(body, key) for key in
               ("external_id", "subject", "text", "language", "department", "service")}
    sender = Sender(**{key: _string(sender_data, key, "sender.") for key in sender_data})
    if not sender.has_identity():
        raise BadRequest("sender needs at least an email, a phone number or an address")
    _check_reply_identity(channel, sender)
    if not strings["text"].strip():
        raise BadRequest("text is required")
    return InboundContact(
        channel=channel, external_id=strings["external_id"] or f"api-{uuid.uuid4()}",
        sender=sender, text=strings["text"], subject=strings["subject"],
        language=_language(strings["language"]),
        received_at=_received_at(body.get("received_at")),
        explicit_department=strings["department"] or None,
        explicit_service=strings["service"] or None,
        metadata={"submitted_by": g.token.name},
    )


def _check_reply_identity(channel: str, sender: Sender) -> None:
    """A case on a channel that answers the citizen needs the identity it answers on: an SMS
    case without a phone number could never be replied to."""
    kind = REPLY_IDENTITY.get(channel)
    if kind == "chat":
        raise BadRequest(f"channel {channel!r} takes contacts from the chat widget only: "
                         "a chat session cannot be given here")
    if kind is not None and not CONTROL_CHARACTERS.sub("", getattr(sender, kind)).strip():
        raise BadRequest(f"channel {channel!r} needs sender.{kind}: its replies go there")


def _language(value: str) -> str:
    """One of the languages we answer in ("zh-CN" is "zh"), or "" (empty or "auto")."""
    code = value.strip().lower()
    if code in ("", "auto"):
        return ""
    if not _LANGUAGE_TAG.match(code) or code.split("-")[0] not in LANGUAGES:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}, "
                         "or empty or 'auto' when it is not known")
    return code.split("-")[0]


def _string(data: dict[str, Any], key: str, prefix: str = "") -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{prefix}{key} must be a string")
    return value


def _received_at(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise BadRequest("received_at must be an ISO 8601 time with a UTC offset") from None
    if moment.tzinfo is None:
        raise BadRequest("received_at must carry a UTC offset")
    if moment > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
        raise BadRequest("received_at is in the future")
    return moment.astimezone(dt.UTC)
