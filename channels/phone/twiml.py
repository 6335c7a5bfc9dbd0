"""Small helpers around twilio.twiml: one place for the TwiML response type."""

from __future__ import annotations

from flask import Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

# Most SMS are answered with nothing to say (the acknowledgement goes through the outbox):
# that document is the same every time, so the library renders it once, not per webhook.
EMPTY_MESSAGING = str(MessagingResponse())


def reply(twiml: VoiceResponse | MessagingResponse | str, status: int = 200) -> Response:
    return Response(twiml if isinstance(twiml, str) else str(twiml), status=status,
                    mimetype="text/xml")


def message(text: str = "") -> Response:
    if not text:
        return reply(EMPTY_MESSAGING)
    response = MessagingResponse()
    response.message(text)
    return reply(response)
