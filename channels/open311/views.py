"""The /open311/v2 blueprint: GeoReport v2 in JSON and XML.

GET discovery, services, a service definition, requests and one request need no key. POST
requests needs an `api_key` (an API token of any role; `Authorization: Bearer` also works)
unless `georeport.require_api_key` is false. Every error, a wrong URL under /open311/v2
included, is the spec's error list in the format asked for.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from caseboard import auth
from caseboard.contacts import IntakeOutcome
from caseboard.intake import IntakeError
from caseboard.models import Case, Message, utcnow
from caseboard.references import find_references
from caseboard.services import Services
from channels.open311 import catalogue, requests_query, submit
from channels.open311.formats import FORMATS, Open311Error, render, render_error

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FMT = "<any(json, xml):fmt>"
NOTICE = {
    "en": "Thank you. Your report {reference} is with {department}; we aim to respond "
          "by {due}. Quote {reference} if you contact us about it.",
    "zh": "谢谢。您的报告 {reference} 已转交{department}，我们将在 {due} 前答复。"
          "咨询时请提供编号 {reference}。",
}


def _services() -> Services:
    services: Services = current_app.extensions["contact_centre"]
    return services


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error) -> Response:
    return render_error(error, _requested_format())


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:  # 413 body too large, a bad form body…
    return render_error(Open311Error(error.code or 400, error.description or error.name),
                        _requested_format())


def _requested_format() -> str:
    fmt = (request.view_args or {}).get("fmt")
    if fmt in FORMATS:
        return str(fmt)
    return "json" if request.path.endswith(".json") else "xml"  # XML is the spec's default


@bp.get(f"/discovery.{FMT}")
def discovery(fmt: str) -> Response:
    config = _services().config
    url = f"{config['supervisor.public_url'].rstrip('/')}/open311/v2"
    changed = dt.datetime.fromtimestamp(os.stat(config.source).st_mtime, dt.UTC)
    changeset = changed.isoformat(timespec="seconds").replace("+00:00", "Z")
    return render(catalogue.discovery(config, url, changeset), fmt, "discovery")


@bp.get(f"/services.{FMT}")
def services_list(fmt: str) -> Response:
    language = catalogue.language_of(request.args)
    return render(catalogue.services_list(_services().config, language), fmt, "services")


@bp.get(f"/services/<code>.{FMT}")
def service_definition(code: str, fmt: str) -> Response:
    service = _services().config.service(code)
    if service is None:
        raise Open311Error(404, f"service_code {code!r} was not found")
    return render(catalogue.service_definition(service), fmt, "service_definition")


@bp.get(f"/requests.{FMT}")
def list_requests(fmt: str) -> Response:
    services = _services()
    wanted = requests_query.parse_filter(request.args, services.config, utcnow())
    language = catalogue.language_of(request.args)
    with services.database.read() as session:
        found = requests_query.find_requests(session, services.config, wanted, language)
    return render(found, fmt, "service_requests")


@bp.get(f"/requests/<request_id>.{FMT}")
def get_request(request_id: str, fmt: str) -> Response:
    services = _services()
    prefix = services.config["administration.reference_prefix"]
    reference = next(iter(find_references(request_id, prefix)), request_id.upper())
    wanted = requests_query.RequestFilter(references=(reference,))
    with services.database.read() as session:
        found = requests_query.find_requests(session, services.config, wanted,
                                             catalogue.language_of(request.args))
    if not found:
        raise Open311Error(404, f"service_request_id {request_id!r} was not found")
    return render(found, fmt, "service_requests")


@bp.post(f"/requests.{FMT}")
def post_request(fmt: str) -> Response:
    services = _services()
    values = request.values  # the spec sends a form body; query arguments count too
    submitter = _submitter(values)
    submission = submit.parse_submission(values, services.config)
    contact_id = submit.external_id(submission, submitter,
                                    request.headers.get("Idempotency-Key", "").strip(), utcnow())
    contact = submit.build_contact(submission, services.config, submitter, contact_id)
    try:
        result = services.intake.take(contact)
    except IntakeError as error:  # a malformed email or phone number: nothing was written
        raise Open311Error(400, str(error)) from error
    if result.outcome == IntakeOutcome.DUPLICATE:
        _check_same_request(result.message_id, submission.fingerprint(submitter))
    answer: dict[str, Any] = {"service_request_id": result.reference,
                              "service_notice": _notice(result.case_id,
                                                        submission.language or "en")}
    if submission.account_id:
        answer["account_id"] = submission.account_id
    return render([answer], fmt, "service_requests")


@bp.route("/<path:rest>", methods=["GET", "POST"])
def unknown(rest: str) -> Response:
    raise Open311Error(404, f"/open311/v2/{rest} is not a GeoReport v2 resource "
                            "(use .json or .xml)")


def _submitter(values: Any) -> str:
    """The API token's name, or "anonymous" where georeport.require_api_key allows it."""
    header = request.headers.get("Authorization", "")
    scheme, _, bearer = header.partition(" ")
    key = str(values.get("api_key") or "").strip() or (
        bearer.strip() if scheme.lower() == "bearer" else "")
    if not key:
        if _services().config["georeport.require_api_key"]:
            raise Open311Error(403, "api_key is required to create a service request")
        return "anonymous"
    with _services().database.read() as session:
        holder = auth.check_token(session, key)
    if holder is None:
        raise Open311Error(403, "Invalid api_key received: it is unknown, revoked or expired")
    return f"token:{holder.name}"


def _check_same_request(message_id: int, fingerprint: str) -> None:
    """A retry returns the first request's id; a reused Idempotency-Key with other fields is
    refused rather than silently answered with someone else's request."""
    with _services().database.read() as session:
        message = session.get(Message, message_id)
        stored = ((message.details or {}).get("open311") or {}) if message else {}
    if stored.get("fingerprint") not in (None, fingerprint):
        raise Open311Error(400, "this Idempotency-Key was already used for a different "
                                "request")


def _notice(case_id: int, language: str) -> str:
    config = _services().config
    with _services().database.read() as session:
        case = session.get(Case, case_id)
    if case is None:  # pragma: no cover - intake just returned it
        return ""
    department = config.department(case.department_id)
    name = catalogue.name_in(department.name, language) if department else case.department_id
    due = case.first_response_due or case.resolution_due or case.created_at
    local = due.astimezone(config.timezone).strftime("%Y-%m-%d %H:%M")
    return NOTICE.get(language, NOTICE["en"]).format(reference=case.reference,
                                                     department=name, due=local)
