"""JSON API v1: bearer tokens with roles; every error is JSON with a clear message.

A token that reads cases acts for a user and reads what that user sees on the board (their
departments' cases and those assigned to them; supervisors and admins every case). Tokens
made without a user: supervisor and admin tokens read every case, agent tokens none, and
intake tokens only submit contacts. Articles are public knowledge: any token reads them.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, Forbidden, NotFound, Unauthorized

from caseboard import api_articles, auth, queries
from caseboard.board_queues import visible_departments
from caseboard.case_view import may_see
from caseboard.contacts import CONTROL_CHARACTERS, InboundContact, Sender
from caseboard.intake import REPLY_IDENTITY, IntakeError
from caseboard.models import CaseStatus, CitizenIdentity, Message, User
from caseboard.services import Services
from knowledge_base.articles import LANGUAGES
from knowledge_base.service import QuestionError
from settings import CHANNELS, TOKEN_ROLES

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")

STAFF = ("agent", "supervisor", "admin")
CONTACT_FIELDS = {"channel", "external_id", "sender", "subject", "text", "language",
                  "department", "service", "received_at"}
SENDER_FIELDS = {"name", "email", "phone", "address", "postcode"}
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")  # "en", "zh-cn", "zh-hans-cn"
_WHOLE_NUMBER = re.compile(r"^[0-9]{1,9}$")  # ASCII digits only: "²".isdigit() is True
MAX_PAGE = 100_000  # 5 million cases at 50 a page: far beyond any real list, well inside int64
# A contact the API is given may have reached the administration a while ago (a kiosk that was
# offline, a partner's backlog): its time limits count from then. Older than this it is refused
# rather than opened weeks in breach (and year 1 or 1969 made references such as CC-1969-…).
MAX_RECEIVED_AGE = dt.timedelta(days=30)
MAX_CLOCK_SKEW = dt.timedelta(minutes=5)


def _column_length(column: Any) -> int:
    length: int = column.property.columns[0].type.length
    return length


# Each string the contact API stores, and its longest value: the column's length where it has
# one (PostgreSQL refuses longer values with a 500, SQLite would keep them), else a length no
# honest sender needs (the text's own limit is intake.max_text_chars).
STRING_LIMITS = {
    "external_id": _column_length(Message.external_id), "subject": 1000,
    "department": 40, "service": 40, "language": 35,
    "sender.name": 200, "sender.email": _column_length(CitizenIdentity.value),
    "sender.phone": 64, "sender.address": 1000, "sender.postcode": 20,
}


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
            if holder.role not in roles:  # (a user's token has at most the user's role)
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
    page = _page(args)
    with services().database.read() as session:
        user, visible = _reader(session)
        if department and visible is not None and department not in visible:
            raise Forbidden(f"{_who(user)} does not work in the {department} department")
        filters = queries.CaseFilter(status, department, channel, (args.get("q") or "").strip(),
                                     visible, user.id if user else None)
        cases, total = queries.list_cases(session, filters, page)
        return jsonify(cases=[queries.case_summary(c) for c in cases], page=page,
                       page_size=queries.PAGE_SIZE, total=total)


@bp.get("/cases/<reference>")
@require_token(*STAFF)
def get_case(reference: str) -> ResponseReturnValue:
    with services().database.read() as session:
        user, _visible = _reader(session)
        case = queries.case_by_reference(session, reference)
        if case is None:
            raise NotFound(f"no case {reference!r}")
        if user is not None and not may_see(session, user, case):
            raise Forbidden(f"{case.reference} belongs to the {case.department_id} department, "
                            f"which {_who(user)} does not work for")
        return jsonify(queries.case_detail(session, case))


def _reader(session: Session) -> tuple[User | None, frozenset[str] | None]:
    """The user the token reads cases as (None: it acts for no user) and the departments
    whose cases it sees (None: every department), as caseboard.board_queues decides."""
    holder: auth.TokenIdentity = g.token
    if holder.user_id is None:
        if holder.role in ("supervisor", "admin"):
            return None, None
        raise Forbidden(f"this {holder.role} token acts for no user, so it reads no cases: "
                        f"make one for the agent with create-token NAME --role {holder.role} "
                        "--user USERNAME")
    user = session.get(User, holder.user_id)
    if user is None:  # removed since the token was checked, a moment ago
        raise Unauthorized("the token is invalid, revoked or expired")
    return user, visible_departments(session, user)


def _who(user: User | None) -> str:
    return f"user {user.username!r}" if user is not None else "this token"


def _page(args: MultiDict[str, str]) -> int:
    text = args.get("page", "1").strip()
    if not _WHOLE_NUMBER.match(text) or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(f"page must be a whole number from 1 to {MAX_PAGE}")
    return int(text)


@bp.get("/departments")
@require_token(*STAFF, "intake")
def list_departments() -> ResponseReturnValue:
    with services().database.read() as session:
        return jsonify(departments=queries.departments(session))


@bp.get("/articles")
@require_token(*TOKEN_ROLES)
def list_articles() -> ResponseReturnValue:
    """The articles the public sees today; with q, the best matches of a search, best first."""
    args = request.args
    unknown = set(args) - {"language", "department", "q", "page"}
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(sorted(unknown))}")
    language = args.get("language") or None
    if language and language not in LANGUAGES:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}")
    department = args.get("department") or None
    if department and services().config.department(department) is None:
        raise BadRequest(f"unknown department {department!r}")
    page, question = _page(args), args.get("q", "")
    if not question.strip():
        with services().database.read() as session:
            found, total = api_articles.list_live(session, language, department, page,
                                                  queries.PAGE_SIZE)
        return jsonify(articles=found, page=page, page_size=queries.PAGE_SIZE, total=total)
    if page != 1:
        raise BadRequest("page cannot be used with q: a search returns its best matches only")
    try:  # a read: an API search is not a citizen's unanswered question (no gap recorded)
        outcome = services().kb.search(question, language, department, queries.PAGE_SIZE,
                                       record_gap=False)
    except QuestionError as error:
        raise BadRequest(f"q: {error}") from error
    with services().database.read() as session:
        found = api_articles.found_live(session, outcome.results)
    return jsonify(articles=found, page=1, page_size=queries.PAGE_SIZE, total=len(found))


@bp.get("/articles/<slug>")
@require_token(*TOKEN_ROLES)
def get_article(slug: str) -> ResponseReturnValue:
    """One article as the public sees it today; without ?language= the first of our
    languages it is published in."""
    language = request.args.get("language") or None
    if language and language not in LANGUAGES:
        raise BadRequest(f"language must be one of {', '.join(LANGUAGES)}")
    for candidate in (language,) if language else LANGUAGES:
        found = services().kb.published(slug, candidate)
        if found is not None:
            return jsonify(api_articles.detail(found))
    raise NotFound(f"no published article {slug!r}" + (f" in {language!r}" if language else ""))


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
    _check_lengths(strings, sender)
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


def _check_lengths(strings: dict[str, str], sender: Sender) -> None:
    given = {**strings, **{f"sender.{key}": getattr(sender, key) for key in SENDER_FIELDS}}
    for key, limit in STRING_LIMITS.items():
        if len(given[key]) > limit:
            raise BadRequest(f"{key} is longer than {limit} characters "
                             f"({len(given[key])} given)")


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
    """When the contact reached the administration: at most MAX_RECEIVED_AGE ago."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise BadRequest("received_at must be an ISO 8601 time with a UTC offset")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest("received_at must be an ISO 8601 time with a UTC offset") from None
    if moment.tzinfo is None:
        raise BadRequest("received_at must carry a UTC offset")
    now = dt.datetime.now(dt.UTC)
    earliest = now - MAX_RECEIVED_AGE
    outside = BadRequest(f"received_at must be within the last {MAX_RECEIVED_AGE.days} days "
                         f"(from {earliest.isoformat(timespec='seconds')} to now)")
    try:
        moment = moment.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it
        raise outside from None
    if moment > now + MAX_CLOCK_SKEW:
        raise BadRequest("received_at is in the future")
    if moment < earliest:
        raise outside
    return moment
