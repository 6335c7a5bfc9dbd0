"""Who is this citizen? Exact matches on normalised identities; fuzzy ones only suggested.

An email address, phone number or chat session belongs to exactly one citizen. A letter's
name and postcode are weaker: a close match becomes a suggestion an agent confirms, never a
silent merge (two people can share a name and a street).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlmodel import Session, col, select

from caseboard.contacts import Sender
from caseboard.db import connection_of, insert_returning_id, insert_rows
from caseboard.fastsql import FastQuery
from caseboard.models import Citizen, CitizenIdentity, IdentityKind, table_of, utcnow

_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
NAME_MATCH_THRESHOLD = 85
CONFIDENT_NAME_MATCH = 97


def normalise_email(text: str) -> str:
    email = text.strip().strip("<>").lower()
    if not _EMAIL.match(email):
        raise ValueError(f"not an email address: {text!r}")
    return email


@functools.lru_cache(maxsize=4096)  # a webhook's sender is normalised twice (check, intake)
def normalise_phone(text: str, region: str) -> str:
    """E.164 form (+441632960123); raises ValueError for something that is not a number."""
    raw = text.strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:"):]
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not a phone number: {text!r}") from error
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"not a possible phone number: {text!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_address(text: str) -> str:
    return " ".join(re.split(r"[\s,]+", text.casefold())).strip()


def normalise_postcode(text: str) -> str:
    return re.sub(r"\s+", "", text).upper()


@dataclass(frozen=True)
class Suggestion:
    citizen_id: int
    score: float
    reason: str
    confident: bool = False


@dataclass(frozen=True)
class CitizenMatch:
    citizen_id: int
    created: bool
    suggestions: tuple[Suggestion, ...] = ()


def sender_identities(sender: Sender, region: str) -> list[tuple[str, str]]:
    """The sender's identities as (kind, normalised value), strongest first."""
    identities = []
    if sender.email:
        identities.append((IdentityKind.EMAIL.value, normalise_email(sender.email)))
    if sender.phone:
        identities.append((IdentityKind.PHONE.value, normalise_phone(sender.phone, region)))
    if sender.chat_session:
        identities.append((IdentityKind.CHAT.value, sender.chat_session.strip()))
    return identities


def find_or_create_citizen(session: Session, sender: Sender,
                           identities: list[tuple[str, str]], channel: str,
                           language: str) -> CitizenMatch:
    """`identities`: the sender's sender_identities(), found beforehand (intake finds them
    outside its write transaction)."""
    known = _owners(session, identities)
    owners = {identity: owner.citizen_id for identity, owner in known.items()}
    citizen_id = next((owners[i] for i in identities if i in owners), None)
    suggestions: list[Suggestion] = []
    if citizen_id is None:
        suggestions = _similar_citizens(session, sender)
        if suggestions and suggestions[0].confident:
            # Same name, same full postal address: the same person writing again.
            citizen_id, suggestions = suggestions[0].citizen_id, []
    created = citizen_id is None
    if citizen_id is None:
        citizen_id = insert_returning_id(session, Citizen, dict(
            name=sender.name.strip(), address=sender.address.strip(),
            postcode=normalise_postcode(sender.postcode), preferred_language=language,
            preferred_channel=channel, created_at=utcnow(),
        ))
    insert_rows(session, CitizenIdentity, [
        {"citizen_id": citizen_id, "kind": kind, "value": value, "created_at": utcnow()}
        for kind, value in identities if (kind, value) not in owners])
    for identity in identities:
        owner = owners.get(identity)
        if owner is not None and owner != citizen_id:
            # The sender uses an email of one known citizen and a phone of another: say so.
            suggestions.append(Suggestion(owner, 100.0, f"{identity[0]} {identity[1]} is known"))
    owner_row = next((o for o in known.values() if o.citizen_id == citizen_id), None)
    if owner_row is not None:  # (a postal match already agrees on name and address)
        _fill_missing_details(session, owner_row, sender)
    return CitizenMatch(citizen_id, created, tuple(suggestions))


@dataclass(frozen=True)
class _Owner:
    citizen_id: int
    name: str
    address: str
    postcode: str


def _owners(session: Session, identities: list[tuple[str, str]]
            ) -> dict[tuple[str, str], _Owner]:
    if not identities:
        return {}
    rows = _OWNERS_QUERY.execute(
        connection_of(session), {"values": [value for _, value in identities]}).fetchall()
    wanted = set(identities)
    return {(kind, value): _Owner(owner, name, address, postcode)
            for kind, value, owner, name, address, postcode in rows if (kind, value) in wanted}


_citizen = table_of(Citizen)
# Values are matched first (the unique index leads with value) and kinds checked in Python.
# The owner's details come along so that filling in a missing name costs nothing when
# nothing is missing. Runs on the driver's cursor: intake's hot path (caseboard/fastsql.py).
_OWNERS_QUERY = FastQuery(
    "SELECT i.kind, i.value, i.citizen_id, c.name, c.address, c.postcode"
    " FROM citizen_identity i JOIN citizen c ON c.id = i.citizen_id"
    " WHERE i.value IN (:values)")


def _similar_citizens(session: Session, sender: Sender) -> list[Suggestion]:
    """Citizens with a close name at the same postcode or address (letters, walk-ins)."""
    name = sender.name.strip()
    postcode = normalise_postcode(sender.postcode)
    address = normalise_address(sender.address)
    if not name or not (postcode or address):
        return []
    query = select(Citizen.id, Citizen.name, Citizen.address)
    if postcode:
        query = query.where(col(Citizen.postcode) == postcode)
    rows = session.execute(query.limit(500)).all()
    suggestions = []
    for other_id, other_name, other_address in rows:
        score = fuzz.token_sort_ratio(name.casefold(), other_name.casefold())
        same_address = bool(address) and normalise_address(other_address) == address
        if not postcode and not same_address:
            continue
        if score >= NAME_MATCH_THRESHOLD:
            place = "address" if same_address else "postcode"
            suggestions.append(Suggestion(
                other_id, round(score, 1), f"name {other_name!r} ({score:.0f}) at the same {place}",
                confident=same_address and score >= CONFIDENT_NAME_MATCH))
    return sorted(suggestions, key=lambda s: (-s.confident, -s.score))[:3]


def _fill_missing_details(session: Session, known: _Owner, sender: Sender) -> None:
    """A known citizen who now tells us a name or address we lacked: keep it."""
    offered = {"name": sender.name.strip(), "address": sender.address.strip(),
               "postcode": normalise_postcode(sender.postcode)}
    missing = {column: value for column, value in offered.items()
               if value and not getattr(known, column)}
    if missing:
        connection_of(session).execute(
            sa.update(_citizen).where(_citizen.c.id == known.citizen_id).values(missing))
