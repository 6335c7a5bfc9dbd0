"""Agents answer calls in their browser (Twilio Voice SDK): access tokens and their TwiML."""

from __future__ import annotations

from sqlmodel import col, select
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant
from twilio.twiml.voice_response import VoiceResponse

from caseboard.models import User, UserDepartment, utcnow
from caseboard.services import Services
from channels.phone.models import PhoneCall
from channels.phone.phrases import say
from settings import Config

TOKEN_SECONDS = 3600


def access_token(config: Config, identity: str) -> str | None:
    """A signed JWT letting this agent's browser call through the TwiML app; None when the
    Voice SDK is not configured."""
    needed = (config["twilio.account_sid"], config["phone.api_key_sid"],
              config["phone.api_key_secret"], config["phone.twiml_app_sid"])
    if not all(needed):
        return None
    token = AccessToken(needed[0], needed[1], needed[2], identity=identity, ttl=TOKEN_SECONDS)
    token.add_grant(VoiceGrant(outgoing_application_sid=needed[3], incoming_allow=True))
    return str(token.to_jwt())


def agent_twiml(services: Services, caller: str) -> VoiceResponse:
    """<Dial><Queue> to the department queue of the oldest caller waiting for this agent."""
    username = caller.removeprefix("client:")
    response = VoiceResponse()
    with services.database.write() as session:
        departments = session.execute(
            select(UserDepartment.department_id).join(User, col(User.id) == col(
                UserDepartment.user_id)).where(col(User.username) == username,
                                               col(User.active).is_(True))).scalars().all()
        call = session.execute(
            select(PhoneCall).where(col(PhoneCall.status) == "queued",
                                    col(PhoneCall.department_id).in_(list(departments)))
            .order_by(col(PhoneCall.queued_at)).limit(1)).scalar_one_or_none()
        if call is None:
            response.say(say("en", "agent_none"), language=services.config["phone.voice_en"])
            response.hangup()
            return response
        call.status, call.agent, call.updated_at = "connected", username[:64], utcnow()
        session.add(call)
        department = call.department_id or ""
    dial = response.dial()
    dial.queue(department)
    return response
