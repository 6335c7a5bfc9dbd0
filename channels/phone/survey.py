"""The satisfaction question for phone cases: an automated call, answered with a key or a word.

The outbox transport for channel "phone" takes survey messages (kind "survey") and places a
call with the twilio REST client; its answer URL is /twilio/survey/<token> (the survey's
signed token from caseboard.satisfaction) and its status callback .../status. The call asks
once, asks again once after silence or a wrong key, then says goodbye; a score is stored only
through caseboard.satisfaction.record_score (first answer counts, a low score reopens the
case). A busy or unanswered call is tried once more an hour of working time later.
Nobody is called outside the administration's opening hours: the survey sender queues the call
for the next opening, and a call that comes due after closing all the same (a retry, a
dispatcher that was stopped) is put back until then.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from caseboard import audit, outbox, satisfaction
from caseboard.db import Database
from caseboard.models import Message, OutboxItem, utcnow
from caseboard.outbox import OutgoingMessage, PermanentSendError, RetryableSendError
from caseboard.services import Services
from caseboard.supervisor_models import Survey
from caseboard.timelimits import BusinessCalendar
from channels.phone.errors import rest_errors
from channels.phone.rest import rest_client
from settings import Config

MAX_CALLS = 2  # a busy or unanswered survey call is tried once more, then left alone
RETRY_WORKING_SECONDS = 3600
UNANSWERED = ("busy", "no-answer", "failed", "canceled")

QUESTION = {
    "en": "Hello, this is {administration}. We recently resolved your case {reference}. "
          "How satisfied are you with how we handled it? Press or say a number from 1, "
          "not at all satisfied, to 5, very satisfied.",
    "zh": "您好，这里是{administration}。您的案件{reference}已办结。您对我们的处理满意吗？"
          "请按键或说出1到5的数字，1表示很不满意，5表示非常满意。",
}
PHRASES = {
    "en": {"again": "Sorry, please press a number from 1 to 5.",
           "thanks": "Thank you for your answer. Goodbye.",
           "goodbye": "Thank you for your time. We will not call again about this case. "
                      "Goodbye.",
           "already": "Thank you, we already have your answer. Goodbye."},
    "zh": {"again": "对不起，请按1到5之间的数字。",
           "thanks": "感谢您的评价，再见。",
           "goodbye": "感谢您的时间，我们不会再为此案件来电。再见。",
           "already": "谢谢，我们已经收到您的评价。再见。"},
}
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "1": 1, "2": 2, "3": 3,
          "4": 4, "5": 5, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_TOKENS = re.compile(r"[a-z]+|\d+|[一二两三四五]")


def score_from(digits: str, speech: str) -> int | None:
    """The 1–5 the caller keyed or said; None for silence, another key or an unclear answer."""
    digits = digits.strip()
    if digits:
        return int(digits) if digits in ("1", "2", "3", "4", "5") else None
    heard = {_WORDS[t] for t in _TOKENS.findall(speech.lower()) if t in _WORDS}
    return heard.pop() if len(heard) == 1 else None


# ---------------------------------------------------------------- placing the call


class SurveyCallTransport:
    """Outbox transport for channel "phone": only survey questions travel this way."""

    def __init__(self, config: Config, database: Database,
                 calendar: BusinessCalendar | None = None) -> None:
        self.config = config
        self.database = database
        self.calendar = calendar or BusinessCalendar.from_config(config)
        self.calls_dir = config.data_dir / "outbox-calls"
        self._client: Client | None = None

    def __call__(self, message: OutgoingMessage) -> str:
        if message.kind != "survey":
            raise PermanentSendError(f"the phone channel places no {message.kind!r} calls")
        number = message.recipient.strip()
        if not number.startswith("+") or not number[1:].isdigit():
            raise PermanentSendError(f"not an E.164 phone number: {message.recipient!r}")
        token = str(message.payload.get("token") or "")
        if satisfaction.survey_id_from(satisfaction.signing_key(self.config), token) is None:
            raise PermanentSendError("the survey token is missing or not ours")
        now = utcnow()
        if not self.calendar.is_working_time(now):
            raise RetryableSendError("the administration is closed: survey calls wait for "
                                     "opening hours", not_before=self.calendar.next_opening(now))
        if not self.config["twilio.account_sid"]:
            sid = self._write_file(message, number, token)
        else:
            sid = self._place(number, token)
        self._record(message, sid, number)
        return sid

    def _place(self, number: str, token: str) -> str:
        sender = self.config["phone.from_number"]
        base = self.config["phone.public_url"].rstrip("/")
        if not sender or not base:
            raise RetryableSendError("survey calls need phone.from_number and "
                                     "phone.public_url (the URL Twilio fetches the call from)")
        if self._client is None:
            self._client = rest_client(self.config)
        with rest_errors():
            created = self._client.calls.create(
                to=number, from_=sender, url=f"{base}/twilio/survey/{token}",
                status_callback=f"{base}/twilio/survey/{token}/status",
                machine_detection="Enable")  # an answering machine is not asked (AnsweredBy)
        return str(created.sid)

    def _write_file(self, message: OutgoingMessage, number: str, token: str) -> str:
        """The demo (no Twilio account): the call it would place, as a JSON file."""
        self.calls_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.calls_dir, prefix=".placing-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"to": number, "from": self.config["phone.from_number"],
                           "url": f"/twilio/survey/{token}", "kind": message.kind,
                           "case_id": message.case_id, "written_at": utcnow().isoformat()},
                          handle, ensure_ascii=False)
            os.replace(tmp, self.calls_dir / f"{message.outbox_id}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return f"file:{message.outbox_id}"

    def _record(self, message: OutgoingMessage, sid: str, number: str) -> None:
        """The call on the case, so its outcome (answered, busy…) has somewhere to land."""
        payload = message.payload
        language = "zh" if payload.get("language") == "zh" else "en"
        with self.database.write() as session:
            session.add(Message(
                case_id=message.case_id, direction="out", channel="phone", external_id=sid,
                sender="survey", text=QUESTION[language].format(
                    administration=self.config["administration.name"],
                    reference=payload.get("reference", "")),
                language=language, delivery_status="sent",
                details={"survey_call": {"outbox_id": message.outbox_id, "to": number,
                                         "attempt": int(payload.get("attempt") or 1)}},
                created_at=utcnow()))


# ---------------------------------------------------------------- the call itself


class SurveyCall:
    """TwiML for the survey call's webhooks; the blueprint has checked the signature."""

    def __init__(self, services: Services, token: str) -> None:
        self.services = services
        self.config = services.config
        secret = satisfaction.signing_key(self.config)
        self.survey_id = satisfaction.survey_id_from(secret, token)
        self.token = token

    def survey(self) -> tuple[Survey, str, str] | None:
        """The survey, its case's reference and language; None for a token that is not ours."""
        from caseboard.models import Case

        if self.survey_id is None:
            return None
        with self.services.database.read() as session:
            survey = session.get(Survey, self.survey_id)
            case = session.get(Case, survey.case_id) if survey is not None else None
            if survey is None or case is None:
                return None
            return survey, case.reference, "zh" if case.language.startswith("zh") else "en"

    def ask(self, found: tuple[Survey, str, str], tries: int) -> VoiceResponse:
        survey, reference, language = found
        response = VoiceResponse()
        if survey.score is not None:
            return self._end(response, language, "already")
        action = f"/twilio/survey/{self.token}/answer?tries={tries}"
        gather = response.gather(input="dtmf speech", num_digits=1, timeout=6,
                                 speech_timeout="auto", action=action,
                                 language=self._recognition(language))
        if tries:
            gather.say(PHRASES[language]["again"], language=self._voice(language))
        gather.say(QUESTION[language].format(administration=self.config["administration.name"],
                                             reference=" ".join(reference)),
                   language=self._voice(language))
        response.redirect(action)  # silence: the answer step hears nothing and decides
        return response

    def answer(self, found: tuple[Survey, str, str], digits: str, speech: str,
               tries: int) -> VoiceResponse:
        survey, _reference, language = found
        if survey.score is not None:
            return self._end(VoiceResponse(), language, "already")
        score = score_from(digits, speech[:200])
        if score is None:
            if tries < 1:
                return self.ask(found, tries + 1)
            return self._end(VoiceResponse(), language, "goodbye")
        assert survey.id is not None
        with self.services.database.write() as session:
            satisfaction.record_score(session, survey.id, score, self.services.calendar,
                                      self.config["supervisor.low_score"])
        return self._end(VoiceResponse(), language, "thanks")

    def _end(self, response: VoiceResponse, language: str, key: str) -> VoiceResponse:
        response.say(PHRASES[language][key], language=self._voice(language))
        response.hangup()
        return response

    def _voice(self, language: str) -> str:
        return self.config["phone.voice_zh"] if language == "zh" else self.config["phone.voice_en"]

    def _recognition(self, language: str) -> str:
        voice = self._voice(language)
        return "cmn-Hans-CN" if voice == "cmn-CN" else voice


def call_status(services: Services, survey: Survey, call_sid: str, state: str,
                now: dt.datetime | None = None) -> bool:
    """How the survey call went; a busy or unanswered first call is placed once more.
    False when the CallSid is not a call of this survey."""
    now = now or utcnow()
    with services.database.write() as session:
        row = session.execute(select(Message).where(
            col(Message.channel) == "phone", col(Message.external_id) == call_sid,
            col(Message.case_id) == survey.case_id)).scalar_one_or_none()
        if row is None:
            return False
        if row.delivery_status != "sent" or state not in ("completed", *UNANSWERED):
            return True  # Twilio retried the callback (handled already), or not final yet
        unanswered = state in UNANSWERED
        row.delivery_status = "undelivered" if unanswered else "delivered"
        row.delivery_error = f"survey call: {state}" if unanswered else ""
        session.add(row)
        if not unanswered or survey.score is not None:
            return True
        details: dict[str, Any] = dict((row.details or {}).get("survey_call") or {})
        attempt = int(details.get("attempt") or 1)
        audit.record(session, survey.case_id, "system", "survey_call_unanswered", "phone",
                     survey_id=survey.id, state=state, attempt=attempt)
        first = session.get(OutboxItem, int(details.get("outbox_id") or 0))
        if attempt >= MAX_CALLS or first is None:
            return True
        item_id = outbox.enqueue(session, case_id=survey.case_id, channel="phone",
                                 recipient=first.recipient, kind="survey",
                                 payload={**first.payload, "attempt": attempt + 1}, now=now)
        again = session.get(OutboxItem, item_id)
        if again is not None:  # not at once, and not at night
            again.next_attempt_at = services.calendar.add_working_time(
                now, RETRY_WORKING_SECONDS)
            session.add(again)
    return True
