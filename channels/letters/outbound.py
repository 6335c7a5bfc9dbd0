"""The "letter" outbox transport: render the reply (or acknowledgement) as a PDF, store it by
hash and put it in the print queue. Posting is done by people: the board marks it posted."""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select

from caseboard.db import Database
from caseboard.files import FileStore
from caseboard.models import Case, Citizen, utcnow
from caseboard.outbox import OutgoingMessage, PermanentSendError
from channels.letters.models import LetterPrintJob
from channels.letters.render import LetterContent, Letterhead, NoCjkFont, render_pdf
from settings import Config


def letterhead_of(config: Config) -> Letterhead:
    address = tuple(p.strip() for p in config["letters.return_address"].split(",") if p.strip())
    return Letterhead(config["administration.name"], address, config["letters.phone"],
                      config["letters.email"])


def address_lines(address: str, postcode: str) -> tuple[str, ...]:
    lines = [part.strip() for part in address.split(",") if part.strip()]
    compact = address.replace(" ", "").upper()
    if postcode and postcode.replace(" ", "").upper() not in compact:
        lines.append(postcode)
    return tuple(lines)


def acknowledgement_text(payload: dict[str, object], config: Config, due: str) -> str:
    name = str(payload.get("citizen_name") or "")
    reference = str(payload.get("reference") or "")
    names = payload.get("department_name") or {}
    if payload.get("language") == "zh":
        department = str(names.get("zh") or names.get("en") or "") if isinstance(names, dict) \
            else ""
        greeting = f"{name}：" if name else "您好："
        return (f"{greeting}\n\n我们已收到您的来信，编号为 {reference}。{department}负责处理，"
                f"将于{due}前答复您。来信请注明此编号。\n\n此致\n{config['administration.name']}")
    department = str(names.get("en") or "") if isinstance(names, dict) else ""
    greeting = f"Dear {name}," if name else "Dear Sir or Madam,"
    return (f"{greeting}\n\nThank you for your letter. We have registered it under reference "
            f"{reference}. {department or 'The department responsible'} will reply by {due}. "
            f"Please quote this reference when you write to us again.\n\n"
            f"Yours sincerely,\n\n{config['administration.name']}")


class LetterTransport:
    def __init__(self, config: Config, database: Database, files: FileStore) -> None:
        self.config = config
        self.database = database
        self.files = files

    def __call__(self, message: OutgoingMessage) -> str:
        with self.database.read() as session:
            existing = session.execute(select(LetterPrintJob.id).where(
                col(LetterPrintJob.outbox_id) == message.outbox_id)).scalar_one_or_none()
            if existing is not None:  # a retried send after a crash: queued already
                return f"print-{existing}"
            case = session.get(Case, message.case_id)
            citizen = session.get(Citizen, case.citizen_id) if case else None
        if case is None:
            raise PermanentSendError(f"case {message.case_id} does not exist")
        payload = message.payload
        language = str(payload.get("language") or case.language or "en")
        name = citizen.name if citizen else ""
        lines = address_lines(citizen.address if citizen else message.recipient,
                              citizen.postcode if citizen else "")
        if not lines:
            raise PermanentSendError("the citizen has no postal address")
        today = utcnow().astimezone(self.config.timezone).date()
        body = (acknowledgement_text(payload, self.config, self._due(payload, language))
                if message.kind == "acknowledgement" else str(payload.get("text") or ""))
        content = LetterContent(case.reference, name, lines, body, language, today)
        try:
            pdf, pages = render_pdf(letterhead_of(self.config), content,
                                    self.config["letters.cjk_font"])
        except NoCjkFont as error:
            raise PermanentSendError(str(error)) from error
        digest = self.files.put(pdf)
        with self.database.write() as session:
            job = LetterPrintJob(outbox_id=message.outbox_id, case_id=case.id or 0,
                                 reference=case.reference, recipient_name=name,
                                 recipient_address=", ".join(lines), kind=message.kind,
                                 language=language, pdf_sha256=digest, pages=pages,
                                 status="queued", created_at=utcnow())
            session.add(job)
            session.flush()
            return f"print-{job.id}"

    def _due(self, payload: dict[str, object], language: str) -> str:
        raw = payload.get("first_response_due")
        if not isinstance(raw, str) or not raw:
            return "soon" if language != "zh" else "近期"
        when = dt.datetime.fromisoformat(raw).astimezone(self.config.timezone)
        if language == "zh":
            return f"{when.year}年{when.month}月{when.day}日"
        return f"{when.day} {when:%B %Y}"
