"""Twilio's answers mapped to "retry later" or "give up now", in one place.

Used around every REST call (outbound SMS and WhatsApp, survey calls) and by the media
downloads: 429, 5xx, 401/403 and network trouble are retried (outages pass, and credentials
are fixed in config without losing the message); other 4xx and the codes of invalid or
unsubscribed numbers fail for good (https://www.twilio.com/docs/api/errors). A rate limit
Twilio reports inside a 400 (63018, a WhatsApp sender over its messages per second) passes
like a 429 does, so it is retried too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from twilio.base.exceptions import TwilioException, TwilioRestException

from caseboard.outbox import PermanentSendError, RetryableSendError

PERMANENT_CODES = frozenset({21211, 21212, 21408, 21602, 21610, 21612, 21614, 21617, 21635,
                             63003, 63016})
RETRYABLE_CODES = frozenset({63018})  # WhatsApp: rate limit exceeded for the channel


def retryable_status(status: int) -> bool:
    return status == 429 or status >= 500 or status in (401, 403)


def classify(error: TwilioRestException) -> PermanentSendError | RetryableSendError:
    """Twilio's error answer → retry later, or give up now (with Twilio's code and reason)."""
    detail = f"Twilio answered {error.status} (code {error.code}): {error.msg}"
    if error.code in PERMANENT_CODES:
        return PermanentSendError(detail)
    if (error.code in RETRYABLE_CODES or retryable_status(error.status)
            or not 400 <= error.status < 500):
        return RetryableSendError(detail)
    return PermanentSendError(detail)


@contextlib.contextmanager
def rest_errors() -> Iterator[None]:
    """Around a REST call: what went wrong as the outbox's retryable or permanent error."""
    try:
        yield
    except TwilioRestException as error:
        raise classify(error) from None
    except (TwilioException, OSError) as error:  # connection refused, timeouts, TLS
        raise RetryableSendError(f"Twilio unreachable: {type(error).__name__}: {error}"
                                 ) from None
    except Exception as error:  # requests' errors are not OSError subclasses throughout
        if type(error).__module__.startswith(("requests", "urllib3")):
            raise RetryableSendError(f"Twilio unreachable: {type(error).__name__}") from None
        raise
