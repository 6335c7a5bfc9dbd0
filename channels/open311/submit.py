"""POST requests: a citizen's GeoReport form becomes one InboundContact for intake.

Checked here, before intake, so that bad input is refused with the spec's error body and
nothing is written: a service code (404 when unknown), a full location (lat and long, an
address or an address id), lengths, numbers and URLs. Intake checks email addresses and phone
numbers itself (IntakeError, also before it writes).

The contact's external id makes a retried POST harmless (intake keeps one message per
(channel, external id)): with an `Idempotency-Key` header it is that key, scoped to the
submitter; without one it is a fingerprint of the request's fields and the UTC day, so the
same report sent again the same day is the same contact.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from caseboard.contacts import InboundContact, Sender
from channels.open311.catalogue import name_in
from channels.open311.formats import Open311Error
from settings import Config

CHANNEL = "web"  # the web form / Open311 channel of settings.CHANNELS
EXTERNAL_PREFIX = "open311:"  # every Open311 contact's external id starts with it
MAX_DESCRIPTION = 4000  # the spec's limit
MAX_ATTRIBUTES = 30
LIMITS = {"address_string": 500, "address_id": 100, "email": 254, "phone": 40,
          "first_name": 100, "last_name": 100, "device_id": 100, "account_id": 100,
          "media_url": 2048, "service_code": 40}
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")


@dataclass(frozen=True)
class Submission:
    """One checked POST: the spec's fields, as strings, numbers and attribute lists."""

    service_code: str
    description: str = ""
    lat: float | None = None
    long: float | None = None
    address_string: str = ""
    address_id: str = ""
    email: str = ""
    phone: str = ""
    first_name: str = ""
    last_name: str = ""
    device_id: str = ""
    account_id: str = ""
    media_url: str = ""
    language: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)

    def public_details(self) -> dict[str, Any]:
        """What GET requests may show later (never the reporter's contact details)."""
        return {"service_code": self.service_code, "description": self.description,
                "lat": self.lat, "long": self.long, "address": self.address_string,
                "address_id": self.address_id, "media_url": self.media_url}

    def fingerprint(self, submitter: str) -> str:
        fields = {**self.__dict__, "submitter": submitter}
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_submission(form: Mapping[str, Any], config: Config) -> Submission:
    """The checked submission, or Open311Error (400 bad input, 404 unknown service code)."""
    values = {key: _text(form, key) for key in
              ("service_code", "description", "lat", "long", *LIMITS)}
    for key, limit in LIMITS.items():
        if len(values[key]) > limit:
            raise Open311Error(400, f"{key} is longer than {limit} characters")
    code = values["service_code"]
    if not code:
        raise Open311Error(400, "service_code is required")
    if config.service(code) is None:
        raise Open311Error(404, f"service_code {code!r} was not found")
    if len(values["description"]) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    lat, long = _coordinates(values["lat"], values["long"])
    if lat is None and not values["address_string"] and not values["address_id"]:
        raise Open311Error(400, "a location is required: lat and long, address_string or "
                                "address_id")
    media_url = values["media_url"]
    if media_url and not re.match(r"^https?://[^\s/]+\S*$", media_url, re.IGNORECASE):
        raise Open311Error(400, "media_url must be an http:// or https:// URL")
    return Submission(
        service_code=code, description=values["description"].strip(), lat=lat, long=long,
        address_string=values["address_string"].strip(), address_id=values["address_id"],
        email=values["email"], phone=values["phone"], first_name=values["first_name"],
        last_name=values["last_name"], device_id=values["device_id"],
        account_id=values["account_id"], media_url=media_url,
        language=_language(form), attributes=_attributes(form))


def external_id(submission: Submission, submitter: str, idempotency_key: str,
                now: dt.datetime) -> str:
    if idempotency_key:
        if len(idempotency_key) > 255:
            raise Open311Error(400, "Idempotency-Key is longer than 255 characters")
        scoped = hashlib.sha256(f"{submitter}\0{idempotency_key}".encode()).hexdigest()
        return f"{EXTERNAL_PREFIX}key:{scoped}"
    day = now.astimezone(dt.UTC).date().isoformat()
    return f"{EXTERNAL_PREFIX}{day}:{submission.fingerprint(submitter)}"


def build_contact(submission: Submission, config: Config, submitter: str,
                  contact_id: str) -> InboundContact:
    service = config.service(submission.service_code)
    assert service is not None  # parse_submission checked it
    name = f"{submission.first_name} {submission.last_name}".strip()
    sender = Sender(name=name, email=submission.email, phone=submission.phone)
    if not sender.has_identity():
        # No way to reach the reporter: the app's own account or device id, scoped to the
        # submitter, stands for them (so one app user's reports share a citizen); failing
        # that, a reporter of their own.
        who = submission.account_id or submission.device_id or uuid.uuid4().hex
        kind = "account" if submission.account_id else "device" if submission.device_id else "anon"
        sender = Sender(name=name, chat_session=f"{EXTERNAL_PREFIX}{submitter}:{kind}:{who}")
    location = _location_line(submission)
    subject = name_in(service.name, "en")
    if submission.address_string:
        subject = f"{subject}: {submission.address_string}"
    return InboundContact(
        channel=CHANNEL, external_id=contact_id, sender=sender,
        text=_message_text(submission, location), subject=subject[:200],
        language=submission.language, explicit_service=submission.service_code,
        metadata={"open311": {**submission.public_details(),
                              "attributes": submission.attributes,
                              "account_id": submission.account_id,
                              "fingerprint": submission.fingerprint(submitter),
                              "submitted_by": submitter}})


def _message_text(submission: Submission, location: str) -> str:
    """What agents read on the case page: the description, then where and what else."""
    lines = [submission.description or "(no description)", "", f"Location: {location}"]
    if submission.media_url:
        lines.append(f"Photo or media: {submission.media_url}")
    for code, answers in submission.attributes.items():
        lines.append(f"{code}: {', '.join(answers)}")
    return "\n".join(lines)


def _location_line(submission: Submission) -> str:
    parts = []
    if submission.address_string:
        parts.append(submission.address_string)
    if submission.lat is not None:
        parts.append(f"({submission.lat}, {submission.long})")
    if submission.address_id:
        parts.append(f"address id {submission.address_id}")
    return " ".join(parts)


def _text(form: Mapping[str, Any], key: str) -> str:
    value = form.get(key)
    if value is None:
        return ""
    text = str(value).replace("\x00", "")
    return text.strip() if key != "description" else text


def _coordinates(lat_text: str, long_text: str) -> tuple[float | None, float | None]:
    if not lat_text and not long_text:
        return None, None
    if not lat_text or not long_text:
        raise Open311Error(400, "lat and long must be sent together")
    try:
        lat, long = float(lat_text), float(long_text)
    except ValueError:
        raise Open311Error(400, "lat and long must be decimal numbers (WGS84)") from None
    if not (math.isfinite(lat) and math.isfinite(long)):
        raise Open311Error(400, "lat and long must be decimal numbers (WGS84)")
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise Open311Error(400, "lat must be between -90 and 90 and long between -180 and 180")
    return lat, long


def _language(form: Mapping[str, Any]) -> str:
    wanted = str(form.get("locale") or form.get("lang") or "").strip().lower()
    if not wanted:
        return ""
    return "zh" if wanted.startswith("zh") else "en"


def _attributes(form: Any) -> dict[str, list[str]]:
    """attribute[code]=value and attribute[code][]=value (a multi-value list)."""
    found: dict[str, list[str]] = {}
    for key in form:
        match = _ATTRIBUTE.match(key)
        if match is None:
            if key.startswith("attribute"):
                raise Open311Error(400, f"{key!r} is not attribute[code] or attribute[code][]")
            continue
        answers = [str(v).strip() for v in form.getlist(key)] if hasattr(form, "getlist") \
            else [str(form[key]).strip()]
        if any(len(answer) > 1000 for answer in answers):
            raise Open311Error(400, f"{key} is longer than 1000 characters")
        found.setdefault(match.group(1), []).extend(a for a in answers if a)
    if len(found) > MAX_ATTRIBUTES:
        raise Open311Error(400, f"at most {MAX_ATTRIBUTES} attributes are accepted")
    return {code: answers for code, answers in found.items() if answers}
