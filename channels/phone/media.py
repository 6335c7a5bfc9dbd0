"""MMS / WhatsApp media: fetched from Twilio with the account's credentials, kept by hash.

Only absolute http(s) URLs are fetched, only with an account configured, each within the
attachment size limit and a short timeout; what is not kept is noted on the message (its
URL stays in the message details).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping

import requests

from caseboard.contacts import IncomingAttachment
from caseboard.services import Services

TIMEOUT_SECONDS = 10


def fetch_all(services: Services, form: Mapping[str, str]
              ) -> tuple[list[IncomingAttachment], list[str]]:
    try:
        count = max(0, min(int(form.get("NumMedia") or 0), 10))
    except ValueError:
        count = 0
    kept: list[IncomingAttachment] = []
    notes: list[str] = []
    for index in range(count):
        url = (form.get(f"MediaUrl{index}") or "").strip()
        content_type = (form.get(f"MediaContentType{index}") or "application/octet-stream")
        try:
            data = _fetch(services, url)
        except ValueError as error:
            notes.append(f"{url or f'media {index}'}: {error}")
            continue
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ".bin"
        kept.append(IncomingAttachment(f"media-{index + 1}{extension}", content_type[:100], data))
    return kept, notes


def _fetch(services: Services, url: str) -> bytes:
    config = services.config
    if not url.startswith(("https://", "http://")):
        raise ValueError("not a media URL")
    if not config["twilio.account_sid"]:
        raise ValueError("not fetched: no Twilio account configured")
    limit = config["intake.max_attachment_bytes"]
    try:
        with requests.get(url, auth=(config["twilio.account_sid"], config["twilio.auth_token"]),
                          timeout=TIMEOUT_SECONDS, stream=True) as response:
            if response.status_code != 200:
                raise ValueError(f"Twilio answered {response.status_code}")
            data = b""
            for chunk in response.iter_content(65536):
                data += chunk
                if len(data) > limit:
                    raise ValueError(f"larger than {limit} bytes")
            return data
    except requests.RequestException as error:
        raise ValueError(f"could not be fetched: {type(error).__name__}") from None
