"""The phone menu as TwiML: greeting, menu, status by reference, speech → answer, queue.

Each function takes the call and the webhook's fields and returns a VoiceResponse; the
blueprint (views.py) only checks the signature and finds the call. Actions are relative
URLs: Twilio resolves them against the public URL it called.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from caseboard.models import Case
from caseboard.references import format_reference
from caseboard.services import Services
from channels.phone import callbacks, calls, connect
from channels.phone.calls import CallInfo
from channels.phone.phrases import LANGUAGE_NAMES, NO_WORDS, STATUS_NAMES, YES_WORDS, say
from dbtypes import utcnow
from knowledge_base.render import ArticleText, ReplyContext, render

_WORDLIKE = re.compile(r"[^\W\d_]", re.UNICODE)
MAX_TRIES = 2


class Voice:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.config = services.config

    # ---------------------------------------------------------------- speaking

    def _say(self, target: VoiceResponse | Gather, language: str, key: str,
             **values: object) -> None:
        target.say(say(language, key, **values), language=self._voice(language))

    def _voice(self, language: str) -> str:
        return self.config["phone.voice_zh"] if language == "zh" else self.config["phone.voice_en"]

    def _recognition(self, language: str) -> str:
        voice = self._voice(language)
        return "cmn-Hans-CN" if voice == "cmn-CN" else voice

    def _department_name(self, department: str, language: str) -> str:
        found = self.config.department(department)
        if found is None:
            return department
        return found.name.get(language) or found.name.get("en") or department

    # ---------------------------------------------------------------- the menu

    def greeting(self) -> VoiceResponse:
        response = VoiceResponse()
        gather = response.gather(num_digits=1, action="/twilio/voice/language", timeout=4)
        gather.say(f"Welcome to {self.config['administration.name']}. For English, press 1.",
                   language=self._voice("en"))
        gather.say("普通话服务请按2。", language=self._voice("zh"))
        response.redirect("/twilio/voice/menu")
        return response

    def menu(self, language: str, prefix: str = "") -> VoiceResponse:
        response = VoiceResponse()
        if prefix:
            self._say(response, language, prefix)
        gather = response.gather(input="speech dtmf", num_digits=1, timeout=6,
                                 speech_timeout="auto", action="/twilio/voice/choice",
                                 language=self._recognition(language))
        self._say(gather, language, "menu")
        response.redirect("/twilio/voice/choice?Default=3")
        return response

    def choice(self, call: CallInfo, form: Mapping[str, str], default: str) -> VoiceResponse:
        if (form.get("SpeechResult") or "").strip():
            return self.speech(call, form, tries=0)
        digit = (form.get("Digits") or default or "").strip()
        language = call.language
        if digit == "1":
            response = VoiceResponse()
            gather = response.gather(input="dtmf", finish_on_key="#", timeout=10,
                                     action="/twilio/voice/reference")
            self._say(gather, language, "ask_reference")
            response.redirect("/twilio/voice/menu")
            return response
        if digit == "2":
            return self.ask_topic(language, tries=0)
        if digit == "3":
            return self.enqueue(call, call.department)
        return self.menu(language, prefix="not_option" if digit else "not_heard")

    def ask_topic(self, language: str, tries: int, prefix: str = "") -> VoiceResponse:
        response = VoiceResponse()
        if prefix:
            self._say(response, language, prefix)
        gather = response.gather(input="speech", timeout=6, speech_timeout="auto",
                                 action=f"/twilio/voice/speech?tries={tries}",
                                 language=self._recognition(language))
        self._say(gather, language, "ask_topic")
        response.redirect(f"/twilio/voice/speech?tries={tries}")
        return response

    # ---------------------------------------------------------------- status by reference

    def reference(self, call: CallInfo, digits: str) -> VoiceResponse:
        """Read the case's status out only to its own citizen's number."""
        language = call.language
        response = VoiceResponse()
        case = self._case_for_digits(call, re.sub(r"\D", "", digits))
        if case is None:
            self._say(response, language, "no_case")
        else:
            status = STATUS_NAMES.get(language, STATUS_NAMES["en"]).get(case.status,
                                                                       case.status)
            self._say(response, language, "status", reference=" ".join(case.reference),
                      status=status,
                      department=self._department_name(case.department_id, language))
        if case is None:
            calls.add_contact(self.services, call, f"{call.call_sid}/reference/{digits[:20]}",
                              f"Status check by phone for reference digits {digits[:20]}: "
                              "not given to this caller",
                              {"call": {"sid": call.call_sid, "status_check": False}})
        else:  # the call belongs to the caller's own case: no second case for it
            calls.status_checked(self.services, call, case, digits[:20])
        self._say(response, language, "thanks")
        response.hangup()
        return response

    def _case_for_digits(self, call: CallInfo, digits: str) -> Case | None:
        from sqlmodel import col, select

        from caseboard.models import CitizenIdentity

        if not 1 <= len(digits) <= 10:
            return None
        year, number = (int(digits[:4]), int(digits[4:])) if len(digits) > 6 else (
            utcnow().year, int(digits))
        if number <= 0:
            return None
        reference = format_reference(self.config["administration.reference_prefix"], year,
                                     number)
        with self.services.database.read() as session:
            case = session.execute(select(Case).where(col(Case.reference) == reference)
                                   ).scalar_one_or_none()
            if case is None:
                return None
            owner = session.execute(select(CitizenIdentity.citizen_id).where(
                col(CitizenIdentity.kind) == "phone",
                col(CitizenIdentity.value) == call.from_number)).scalars().all()
            return case if case.citizen_id in owner else None

    # ---------------------------------------------------------------- speech → answer

    def speech(self, call: CallInfo, form: Mapping[str, str], tries: int) -> VoiceResponse:
        text = " ".join((form.get("SpeechResult") or "").split())[:2000]
        language = call.language
        if not _WORDLIKE.search(text):  # silence or only noise: ask again, then a person
            if tries + 1 >= MAX_TRIES:
                return self.enqueue(call, call.department)
            return self.ask_topic(language, tries + 1, prefix="not_heard")
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        calls.add_contact(self.services, call, f"{call.call_sid}/speech/{digest}", text,
                          {"call": {"sid": call.call_sid, "speech": text,
                                    "confidence": form.get("Confidence", "")}})
        department = calls.route_case(self.services, call, text)
        outcome = self.services.kb.search(text, language, None, limit=1)
        best = outcome.results[0] if outcome.results else None
        if best is None or best.score < self.config["phone.kb_min_score"]:
            return self.enqueue(call, department)
        published = self.services.kb.published(best.slug, best.language)
        if published is None:
            return self.enqueue(call, department)
        version = published.version
        article = ArticleText(best.slug, version.number, best.language, version.title,
                              version.short_answer, version.body, tuple(version.key_facts), "")
        spoken = render("voice", article, ReplyContext(
            reference="", administration=self.config["administration.name"],
            language=best.language)).text
        response = VoiceResponse()
        query = urlencode({"slug": best.slug, "lang": best.language, "v": version.number,
                           "dept": department})
        gather = response.gather(input="speech dtmf", num_digits=1, timeout=6,
                                 speech_timeout="auto", action=f"/twilio/voice/answered?{query}",
                                 language=self._recognition(language))
        gather.say(spoken, language=self._voice(best.language))
        self._say(gather, language, "did_it_help")
        response.redirect(f"/twilio/voice/answered?{query}&Default=2")
        return response

    def answered(self, call: CallInfo, form: Mapping[str, str], args: Mapping[str, str]
                 ) -> VoiceResponse:
        heard = (form.get("SpeechResult") or "").strip().lower()
        digit = (form.get("Digits") or args.get("Default") or "").strip()
        helped = digit == "1" or (not digit and _yes(heard))
        department = args.get("dept") or call.department
        if not helped:
            return self.enqueue(call, department)
        slug, language = args.get("slug", ""), args.get("lang", call.language)
        published = self.services.kb.published(slug, language)
        if published is not None:
            calls.resolve_with_article(self.services, call, published.version.short_answer,
                                       slug, published.version.number, department)
        response = VoiceResponse()
        self._say(response, call.language, "thanks")
        response.hangup()
        return response

    # ---------------------------------------------------------------- to a person

    def enqueue(self, call: CallInfo, department: str) -> VoiceResponse:
        department = department or self.config["routing.triage_department"]
        language = call.language
        response = VoiceResponse()
        if not self.services.calendar.is_working_time(utcnow()):
            calls.update(self.services, call.call_sid, department_id=department)
            return self.offer_message(language, "closed")
        calls.update(self.services, call.call_sid, status="queued", department_id=department,
                     queued_at=utcnow())
        self._say(response, language, "connecting",
                  department=self._department_name(department, language),
                  reference=" ".join(call.reference))
        response.enqueue(department, wait_url="/twilio/voice/wait",
                         action="/twilio/voice/dequeued")
        return response

    def wait(self, call: CallInfo, form: Mapping[str, str]) -> VoiceResponse:
        response = VoiceResponse()
        try:
            waited = int(form.get("QueueTime") or 0)
        except ValueError:
            waited = 0
        if waited > self.config["phone.wait_limit_seconds"]:
            response.leave()  # continues at the <Enqueue> action with QueueResult=leave
            return response
        if connect.ring_agent(self.services, call):
            response.leave()  # the <Enqueue> action puts the caller through to the agent
            return response
        position = (form.get("QueuePosition") or "").strip()
        if position.isdigit():
            self._say(response, call.language, "position", position=position)
        response.pause(length=20)
        return response

    def dequeued(self, call: CallInfo, result: str) -> VoiceResponse:
        response = VoiceResponse()
        if result == "bridged":
            calls.update(self.services, call.call_sid, status="connected")
            return response
        if result in ("hangup", ""):
            calls.update(self.services, call.call_sid, status="completed", ended_at=utcnow())
            response.hangup()
            return response
        if result == "leave" and call.status == "connecting":
            number = connect.number_of(self.services, call.agent)
            if number:
                return connect.dial_agent(call, number)
            connect.missed(self.services, call, "")  # the number was removed meanwhile
            return self.requeue(call)
        return self.offer_message(call.language, "too_long")

    def dialled(self, call: CallInfo, outcome: str) -> VoiceResponse:
        """After the <Dial> to an agent's number: done, or back in the queue."""
        if outcome in ("completed", "answered"):  # the agent picked up and they talked
            calls.update(self.services, call.call_sid, status="completed", ended_at=utcnow())
            response = VoiceResponse()
            response.hangup()
            return response
        connect.missed(self.services, call, call.agent)
        return self.requeue(call)

    def requeue(self, call: CallInfo) -> VoiceResponse:
        """Back into the department's queue, keeping the caller's place."""
        response = VoiceResponse()
        self._say(response, call.language, "too_long")
        response.enqueue(call.department or self.config["routing.triage_department"],
                         wait_url="/twilio/voice/wait", action="/twilio/voice/dequeued")
        return response

    def whisper(self, call: CallInfo) -> VoiceResponse:
        """What the agent hears on picking up, before the caller is put through."""
        response = VoiceResponse()
        response.say(say("en", "whisper", reference=" ".join(call.reference),
                         department=self._department_name(call.department, "en"),
                         speaking=LANGUAGE_NAMES.get(call.language, call.language)),
                     language=self._voice("en"))
        return response

    def offer_message(self, language: str, prefix: str) -> VoiceResponse:
        response = VoiceResponse()
        self._say(response, language, prefix)
        gather = response.gather(num_digits=1, timeout=8, action="/twilio/voice/after")
        self._say(gather, language, "offer")
        response.redirect("/twilio/voice/after?Default=1")
        return response

    def after(self, call: CallInfo, digit: str) -> VoiceResponse:
        response = VoiceResponse()
        language = call.language
        if digit == "2":
            message_id = calls.add_contact(
                self.services, call, f"{call.call_sid}/callback",
                f"Call back requested on {call.from_number}",
                {"callback": {"number": call.from_number, "requested_at": utcnow().isoformat()}})
            callbacks.open_task(self.services, call, "callback", message_id)
            calls.update(self.services, call.call_sid, status="callback")
            self._say(response, language, "callback", reference=" ".join(call.reference))
            response.hangup()
            return response
        self._say(response, language, "record")
        response.record(max_length=180, finish_on_key="#", play_beep=True,
                        transcribe=True, transcribe_callback="/twilio/voice/transcription",
                        action="/twilio/voice/recorded")
        return response

    def recorded(self, call: CallInfo, form: Mapping[str, str]) -> VoiceResponse:
        sid = (form.get("RecordingSid") or "").strip()
        if not sid:  # nothing was recorded: the caller may try again or ask for a call back
            return self.offer_message(call.language, "not_recorded")
        duration = int(form.get("RecordingDuration") or 0) if (
            form.get("RecordingDuration") or "").isdigit() else 0
        message_id = calls.add_contact(
            self.services, call, sid, f"Voicemail from {call.from_number} ({duration} s)",
            {"recording": {"url": form.get("RecordingUrl", ""), "duration": duration,
                           "transcript": ""},
             "callback": {"number": call.from_number, "requested_at": utcnow().isoformat()}})
        callbacks.open_task(self.services, call, "voicemail", message_id)
        calls.update(self.services, call.call_sid, status="callback")
        response = VoiceResponse()
        self._say(response, call.language, "recorded", reference=" ".join(call.reference))
        response.hangup()
        return response


def _yes(heard: str) -> bool:
    words = re.sub(r"[^\w']+", " ", heard)
    if any(no in words for no in NO_WORDS if not no.isascii()) or any(
            f" {no} " in f" {words} " for no in NO_WORDS if no.isascii()):
        return False
    return any(yes in words for yes in YES_WORDS if not yes.isascii()) or any(
        f" {yes} " in f" {words} " for yes in YES_WORDS if yes.isascii())
