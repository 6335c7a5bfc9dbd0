"""Small helpers around twilio.twiml: one place for the TwiML response type."""

from __future__ import annotations

from flask import Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse


def reply(twiml: VoiceResponse | MessagingResponse, status: int = 200) -> Response:
    return Response(str(twiml), status=status, mimetype="text/xml")


def message(text: str = "") -> Response:
    response = MessagingResponse()
    if text:
        response.message(text)
    return reply(response)
