"""Live queue updates as Server-Sent Events, read from the database so they cross processes.

Every change to a case moves its updated_at (intake, workflow, assignment), so the stream
polls for cases changed since its cursor, an index range scan. The cursor travels as the
event id: after a reconnect the browser sends it back as Last-Event-ID and nothing is missed.
Changes committed late with an earlier updated_at are caught by looking back LOOKBACK
seconds and skipping what this stream already sent.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Generator

from caseboard.db import Database
from caseboard.models import utcnow
from caseboard.queue_queries import Scope, changes_since

POLL_SECONDS = 1.0
STREAM_SECONDS = 25.0  # then the browser reconnects (proxies drop idle streams anyway)
LOOKBACK = dt.timedelta(seconds=3)
RETRY_MS = 1000


def parse_cursor(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def stream(database: Database, scope: Scope, cursor: dt.datetime | None,
           seconds: float = STREAM_SECONDS, poll: float = POLL_SECONDS,
           sleep: Callable[[float], None] = time.sleep) -> Generator[str, None, None]:
    """SSE text: a `changed` event listing the references of cases changed since cursor."""
    cursor = cursor or utcnow()
    sent: set[tuple[int, dt.datetime]] = set()
    yield f"retry: {RETRY_MS}\nid: {cursor.isoformat()}\n\n"
    deadline = time.monotonic() + seconds
    while True:
        with database.read() as session:
            changes = changes_since(session, cursor - LOOKBACK, scope)
        fresh = [(case_id, ref, at) for case_id, ref, at in changes if (case_id, at) not in sent]
        if fresh:
            sent.update((case_id, at) for case_id, _, at in fresh)
            cursor = max(cursor, *(at for _, _, at in fresh))
            data = json.dumps({"references": sorted({ref for _, ref, _ in fresh})})
            yield f"event: changed\nid: {cursor.isoformat()}\ndata: {data}\n\n"
        else:
            yield ": idle\n\n"  # a comment: notices a closed connection, keeps proxies open
        if time.monotonic() >= deadline:
            return
        sleep(poll)
