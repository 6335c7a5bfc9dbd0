"""The /twilio/ webhooks (signature-checked) and the board's calls page."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import col, select

from caseboard.identity import normalise_phone
from caseboard.models import Message, utcnow
from caseboard.services import current_services
from caseboard.web_auth import current_user, login_required
from channels.phone import calls, connect, status, tokens
from channels.phone.agent_views import calls_page
from channels.phone.calls import CallInfo
from channels.phone.phrases import say
from channels.phone.security import twilio_signed
from channels.phone.sms import BadWebhook, handle_sms
from channels.phone.twiml import message, reply
from channels.phone.voice import Voice

bp = Blueprint("phone", __name__, template_folder="templates")


def _bad(error: Exception | str) -> Response:
    """A webhook's bad input: a plain-text 400 (Twilio logs it; there is no page to show)."""
    return Response(f"{error}\n", 400, content_type="text/plain; charset=utf-8")


# ---------------------------------------------------------------- SMS and WhatsApp


@bp.post("/twilio/sms")
@twilio_signed
def sms() -> ResponseReturnValue:
    try:
        outcome = handle_sms(current_services(), request.form)
    except BadWebhook as error:
        return _bad(error)
    return message(outcome.reply)


@bp.post("/twilio/status")
@twilio_signed
def delivery_status() -> ResponseReturnValue:
    try:
        found = status.handle_status(current_services(), request.form, request.args.get("o", ""))
    except BadWebhook as error:
        return _bad(error)
    if not found:
        return "unknown MessageSid or CallSid\n", 404, {"Content-Type": "text/plain"}
    return "", 204


# ---------------------------------------------------------------- voice


def _call() -> CallInfo | None:
    """The call of this webhook; a call we have not seen ringing is opened now."""
    services = current_services()
    sid = (request.form.get("CallSid") or "").strip()
    if not sid:  # plain text, like the other webhook errors (not Flask's HTML page)
        abort(_bad("CallSid is missing"))
    found = calls.lookup(services, sid)
    if found is not None:
        return found
    raw = (request.form.get("From") or request.form.get("Caller") or "").strip()
    if not raw or raw.lower() in ("anonymous", "restricted", "unknown"):
        return None
    try:
        number = normalise_phone(raw, services.config["administration.country"])
    except ValueError:
        return None
    return calls.ring(services, sid, number, request.form.get("To", ""))


def _hidden() -> ResponseReturnValue:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(say("en", "hidden"), language=current_services().config["phone.voice_en"])
    response.say(say("zh", "hidden"), language=current_services().config["phone.voice_zh"])
    response.hangup()
    return reply(response)


@bp.post("/twilio/voice")
@twilio_signed
def incoming_call() -> ResponseReturnValue:
    if _call() is None:
        return _hidden()
    return reply(Voice(current_services()).greeting())


@bp.post("/twilio/voice/language")
@twilio_signed
def language() -> ResponseReturnValue:
    call = _call()
    if call is None:
        return _hidden()
    chosen = "zh" if (request.form.get("Digits") or "").strip() == "2" else "en"
    calls.update(current_services(), call.call_sid, language=chosen, status="menu")
    return reply(Voice(current_services()).menu(chosen))


@bp.post("/twilio/voice/menu")
@twilio_signed
def menu() -> ResponseReturnValue:
    call = _call()
    return _hidden() if call is None else reply(Voice(current_services()).menu(call.language))


_STEPS = ("choice", "reference", "speech", "answered", "wait", "dequeued", "dialled", "after",
          "recorded")


@bp.post("/twilio/voice/<step>")
@twilio_signed
def voice_step(step: str) -> ResponseReturnValue:
    if step not in _STEPS:
        abort(404)
    call = _call()
    if call is None:
        return _hidden()
    voice, form, args = Voice(current_services()), request.form, request.args
    if step == "choice":
        twiml = voice.choice(call, form, args.get("Default", ""))
    elif step == "reference":
        twiml = voice.reference(call, form.get("Digits", ""))
    elif step == "speech":
        tries = args.get("tries", "0")
        twiml = voice.speech(call, form, int(tries) if tries.isdigit() else 0)
    elif step == "answered":
        twiml = voice.answered(call, form, args)
    elif step == "wait":
        twiml = voice.wait(call, form)
    elif step == "dequeued":
        twiml = voice.dequeued(call, (form.get("QueueResult") or "").strip())
    elif step == "dialled":
        twiml = voice.dialled(call, (form.get("DialCallStatus") or "").strip())
    elif step == "after":
        twiml = voice.after(call, (form.get("Digits") or args.get("Default", "1")).strip())
    else:
        twiml = voice.recorded(call, form)
    return reply(twiml)


@bp.post("/twilio/voice/whisper")
@twilio_signed
def whisper() -> ResponseReturnValue:
    """Played to the agent who picked up their phone (this is the agent's call leg, so the
    caller's CallSid comes in the query and no case is opened for this one)."""
    call = calls.lookup(current_services(), request.args.get("call", ""))
    if call is None:
        return "unknown call\n", 404, {"Content-Type": "text/plain"}
    return reply(Voice(current_services()).whisper(call))


@bp.post("/twilio/voice/transcription")
@twilio_signed
def transcription() -> ResponseReturnValue:
    """Twilio's transcript of a voicemail, added to the recording on the case."""
    sid = (request.form.get("RecordingSid") or "").strip()
    text = (request.form.get("TranscriptionText") or "").strip()[:10000]
    with current_services().database.write() as session:
        row = session.execute(select(Message).where(
            col(Message.channel) == "phone", col(Message.external_id) == sid)
        ).scalar_one_or_none() if sid else None
        if row is None:
            return "unknown RecordingSid\n", 404, {"Content-Type": "text/plain"}
        recording = dict((row.details or {}).get("recording") or {})
        recording["transcript"] = text
        row.details = {**(row.details or {}), "recording": recording}
        if text and text not in row.text:
            row.text = f"{row.text}\n\n{text}"
        flag_modified(row, "details")
        session.add(row)
    return "", 204


@bp.post("/twilio/agent")
@twilio_signed
def agent_call() -> ResponseReturnValue:
    """The agent's browser (Voice SDK) calls here: connect it to its oldest waiting caller."""
    return reply(tokens.agent_twiml(current_services(), request.form.get("From", "")))


# ---------------------------------------------------------------- the board


@bp.get("/board/calls")
@login_required("agent")
def calls_waiting() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    return calls_page(user)


@bp.get("/board/calls/token")
@login_required("agent")
def voice_token() -> ResponseReturnValue:
    user = current_user()
    assert user is not None
    services = current_services()
    token = tokens.access_token(services.config, user.username)
    if token is None:
        abort(404, "The Voice SDK is not configured (phone.api_key_sid, phone.twiml_app_sid).")
    assert user.id is not None
    with services.database.write() as session:  # calls go to this browser, not the number
        connect.browser_seen(session, user.id,
                             utcnow() + dt.timedelta(seconds=tokens.TOKEN_SECONDS))
    return jsonify(token=token, identity=user.username)
