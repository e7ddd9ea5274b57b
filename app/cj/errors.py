"""Typed CJ failures.

CJ answers HTTP 200 with an error `code` in the body; the code decides the type, never
the message. Two families matter to callers: `CJRejected` (CJ understood and said no:
retrying the same call cannot help) and `CJUnavailable` (CJ could not be asked, or did
not answer: a later call may succeed). `CJAmbiguous` is the one a non-idempotent call
raises when the request may or may not have taken effect.
"""

from __future__ import annotations

import re
from datetime import datetime


class CJError(Exception):
    def __init__(
        self, message: str, *, code: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        code = f" (CJ code {self.code})" if self.code is not None else ""
        return f"{self.message}{code}"


class CJRejected(CJError):
    """CJ refused the request; the same request will be refused again."""


class CJAuthError(CJRejected):
    """The API key or token was refused."""


class CJParameterError(CJRejected):
    """A field is missing or malformed."""


class CJNotFound(CJRejected):
    """The order (or other object) does not exist at CJ."""


class CJOrderExists(CJRejected):
    """1603003: an order with this orderNumber already exists (CJ's idempotency)."""


class CJVariantNotFound(CJRejected):
    """The variant or product is unknown or off the shelves."""


class CJLogisticInvalid(CJRejected):
    """The logistic or country cannot serve this order."""


class CJBalanceInsufficient(CJRejected):
    """The CJ balance cannot pay the order (or balance payment is restricted)."""


class CJOrderStateError(CJRejected):
    """The order is in a state that does not allow the operation."""


class CJWebhookSetupError(CJRejected):
    """CJ refused the webhook callback settings."""


class CJUnavailable(CJError):
    """CJ could not be asked or did not answer; a later call may succeed."""


class CJUpstreamError(CJUnavailable):
    """CJ failed: HTTP 5xx, code 1600000 (system busy), an unreadable answer."""


class CJTimeout(CJUnavailable):
    """No answer within the time allowed."""


class CJTransportError(CJUnavailable):
    """The connection failed or was reset."""


class CJCircuitOpen(CJUnavailable):
    """The breaker is open: CJ has been failing, so no call was made."""


class CJRateLimited(CJUnavailable):
    """1600200 (QPS exceeded) or 1600201 (quota used up)."""


class CJThrottled(CJUnavailable):
    """Our own rate limiter had no slot before the caller's deadline; no call was made."""


class CJPointsExhausted(CJUnavailable):
    """HTTP 429: the day's API points are gone until 00:00 UTC."""

    def __init__(self, message: str, *, until: datetime, request_id: str | None = None) -> None:
        super().__init__(message, code=429, request_id=request_id)
        self.until = until


class CJAmbiguous(CJUnavailable):
    """A non-idempotent call failed after the request may have reached CJ.

    The caller must find out what happened (for an order: look it up by orderNumber)
    before trying again.
    """


_CODE_TYPES: dict[int, type[CJError]] = {
    1600000: CJUpstreamError,
    1600001: CJAuthError,
    1600002: CJAuthError,
    1600003: CJAuthError,
    1600004: CJAuthError,
    1600005: CJAuthError,
    1600006: CJAuthError,
    1600007: CJAuthError,
    1600008: CJAuthError,
    1601000: CJAuthError,
    1600100: CJParameterError,
    1600101: CJParameterError,
    1600300: CJParameterError,
    1600301: CJTimeout,
    16900202: CJParameterError,
    16900203: CJParameterError,
    16900204: CJParameterError,
    16900205: CJParameterError,
    16900403: CJParameterError,
    1600200: CJRateLimited,
    1600201: CJRateLimited,
    1602000: CJVariantNotFound,
    1602001: CJVariantNotFound,
    1602002: CJVariantNotFound,
    1602003: CJVariantNotFound,
    1603000: CJRejected,
    1603001: CJOrderStateError,
    1603002: CJOrderStateError,
    1603003: CJOrderExists,
    1603100: CJNotFound,
    1603101: CJOrderStateError,
    1603102: CJRejected,
    1604000: CJBalanceInsufficient,
    1604001: CJBalanceInsufficient,
    1605000: CJLogisticInvalid,
    1605001: CJLogisticInvalid,
    1605002: CJLogisticInvalid,
    1606000: CJWebhookSetupError,
    1606001: CJWebhookSetupError,
    1607000: CJWebhookSetupError,
    1607001: CJWebhookSetupError,
    1607002: CJWebhookSetupError,
    1607003: CJWebhookSetupError,
    1607004: CJUpstreamError,
}

# Codes that mean the access token itself is bad: refresh once and retry once.
TOKEN_CODES = frozenset({1600001, 1600002})


# 1600300 is CJ's "param error", and also getOrderDetail's answer for an order that does
# not exist (seed 004 §1.7: "order not found", beside "orderId must be not empty"). Only
# the message tells them apart; the client never sends an empty orderId, so a "not found"
# message can only mean what it says.
_PARAM_OR_NOT_FOUND = 1600300
_NOT_FOUND_MESSAGE = re.compile(r"\bnot\s+found\b", re.IGNORECASE)


# 1600100 is "interface offline" in CJ's global table and "Param error" in every
# endpoint's sample (seed 004). Offline is CJ being down (a later call may work); anything
# else is a refusal of this request's data.
_PARAM_OR_OFFLINE = 1600100
_OFFLINE_MESSAGE = re.compile(r"\boffline\b", re.IGNORECASE)


def error_for_code(code: int, message: str, request_id: str | None) -> CJError:
    error_type = _CODE_TYPES.get(code, CJRejected)
    if code == _PARAM_OR_NOT_FOUND and _NOT_FOUND_MESSAGE.search(message or ""):
        error_type = CJNotFound
    if code == _PARAM_OR_OFFLINE and _OFFLINE_MESSAGE.search(message or ""):
        error_type = CJUpstreamError
    return error_type(message or "CJ refused the request", code=code, request_id=request_id)


def counts_against_breaker(exc: BaseException) -> bool:
    """Only upstream failures open the breaker; CJ saying "no" is not CJ being down."""
    return isinstance(exc, CJUpstreamError | CJTimeout | CJTransportError | CJAmbiguous)


def may_have_reached_cj(exc: CJError) -> bool:
    """Whether a failed call may still have taken effect at CJ: the one rule for "did
    anything reach CJ?". A CJTimeout without a code is raised only before the request
    left us (connect or pool timeout: nothing reached CJ); CJ's own 1600301 "read timed
    out" and every CJAmbiguous (sent, no clear answer) may have done their work."""
    if isinstance(exc, CJAmbiguous):
        return True
    return isinstance(exc, CJTimeout) and exc.code is not None
