"""What the supervisors' dashboard asks of the phone channel: callers on hold right now.

Registered in init_channel with caseboard.supervisor_waiting (the case board does not import
channels). Only calls in a queue count: a caller who hung up, left a voicemail or asked to be
called back is a case waiting, not a person on the line; a call being put through to an
agent's number ("connecting") has left the queue.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, func, select

from channels.phone.models import PhoneCall


def calls_on_hold(session: Session) -> dict[str, tuple[int, dt.datetime | None]]:
    """department → (calls queued now, when the longest-waiting one was queued)."""
    rows = session.execute(  # ix_phone_call_waiting (status, department_id)
        select(PhoneCall.department_id, func.count(), func.min(PhoneCall.queued_at))
        .where(col(PhoneCall.status) == "queued").group_by(col(PhoneCall.department_id)))
    return {department or "": (int(count), first) for department, count, first in rows}
