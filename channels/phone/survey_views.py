"""The survey call's webhooks (/twilio/survey/<token>…), signature-checked like every other.

They never open a case: the call was placed by us, for a survey named by its signed token.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask.typing import ResponseReturnValue
from twilio.twiml.voice_response import VoiceResponse

from caseboard.services import current_services
from channels.phone.security import twilio_signed
from channels.phone.survey import SurveyCall, call_status
from channels.phone.twiml import reply

survey_bp = Blueprint("phone_survey", __name__)
_UNKNOWN = ("unknown survey\n", 404, {"Content-Type": "text/plain"})


def _tries() -> int:
    raw = request.args.get("tries", "0")
    return min(int(raw), 1) if raw.isdigit() else 0


@survey_bp.post("/twilio/survey/<token>")
@twilio_signed
def survey_call(token: str) -> ResponseReturnValue:
    call = SurveyCall(current_services(), token)
    found = call.survey()
    if found is None:
        return _UNKNOWN
    answered_by = (request.form.get("AnsweredBy") or "").strip().lower()
    if answered_by.startswith(("machine", "fax")):
        # Not a person: nothing is asked or recorded, and the call counts as unanswered
        # (placed once more later, like a busy line).
        sid = (request.form.get("CallSid") or "").strip()
        if sid:
            call_status(current_services(), found[0], sid, "no-answer")
        response = VoiceResponse()
        response.hangup()
        return reply(response)
    return reply(call.ask(found, _tries()))


@survey_bp.post("/twilio/survey/<token>/answer")
@twilio_signed
def survey_answer(token: str) -> ResponseReturnValue:
    call = SurveyCall(current_services(), token)
    found = call.survey()
    if found is None:
        return _UNKNOWN
    return reply(call.answer(found, request.form.get("Digits", ""),
                             request.form.get("SpeechResult", ""), _tries()))


@survey_bp.post("/twilio/survey/<token>/status")
@twilio_signed
def survey_status(token: str) -> ResponseReturnValue:
    found = SurveyCall(current_services(), token).survey()
    sid = (request.form.get("CallSid") or "").strip()
    state = (request.form.get("CallStatus") or "").strip().lower()
    if found is None or not sid or not state:
        return _UNKNOWN if found is None else ("CallSid and CallStatus are needed\n", 400,
                                               {"Content-Type": "text/plain"})
    if not call_status(current_services(), found[0], sid, state):
        return "unknown CallSid\n", 404, {"Content-Type": "text/plain"}
    return "", 204
