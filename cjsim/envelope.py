"""CJ response envelopes, error codes and the JSON rendering the simulator uses.

CJ answers almost everything with HTTP 200 and `{"code","result","message","data","requestId"}`;
only the points budget (HTTP 429) and the QPS limiter (a body without `result`) differ. Bodies
are serialised here with `json.dumps` so that Python ints stay exact (CJ ids above 2^53) and
`Decimal` money becomes a JSON number.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from starlette.responses import Response

# General / system
OK = 200
SYSTEM_BUSY = 1600000
# createOrderV2's documented refusal of its body (seed 004 §1.1: "Param error").
ORDER_PARAM_ERROR = 1600100
PARAM_ERROR = 1600300
PARAM_INVALID = 1600100  # "Param error", as the endpoint docs' error samples show it
BODY_MISSING = 16900204
BODY_NOT_JSON = 16900205
PARAM_EMPTY = 16900403
METHOD_NOT_SUPPORTED = 16900202
# Auth
TOKEN_INVALID = 1600001
TOKEN_EMPTY = 1600002
REFRESH_TOKEN_INVALID = 1600003
API_KEY_WRONG = 1600005
INTERFACE_NOT_FOUND = 1600101
TOO_MANY_REQUESTS = 1600200
# Products / orders / payment
VARIANT_NOT_FOUND = 1602000
PRODUCT_NOT_FOUND = 1602001
PRODUCT_OFF_SHELF = 1602002
VARIANT_OFF_SHELF = 1602003
ORDER_CREATE_FAILED = 1603000
ORDER_CONFIRM_FAILED = 1603001
ORDER_DELETE_FAILED = 1603002
ORDER_EXISTS = 1603003
ORDER_NOT_FOUND = 1603100
PAY_FAILED = 1603101
BALANCE_INSUFFICIENT = 1604000
# Logistics
LOGISTIC_INVALID = 1605001
COUNTRY_NOT_FOUND = 1605002
# Webhooks / disputes
WEBHOOK_URL_NOT_HTTPS = 1607002
DISPUTE_PRODUCTS_FAILED = 1607006
DISPUTE_CONFIRM_FAILED = 1607007
DISPUTE_CREATE_FAILED = 1607008
DISPUTE_CANCEL_FAILED = 1607009
# Sandbox (numeric codes as documented for the sandbox endpoints)
SANDBOX_ORDER_MISSING = 803
SANDBOX_NOT_SANDBOX = 811
SANDBOX_UNPAID_OR_CLOSED = 819

MESSAGES: dict[int, str] = {
    SYSTEM_BUSY: "System busy, please try again later",
    ORDER_PARAM_ERROR: "Param error",
    PARAM_ERROR: "Param error",
    PARAM_INVALID: "Param error",
    BODY_MISSING: "Request body is missing",
    BODY_NOT_JSON: "Request body is not valid JSON",
    PARAM_EMPTY: "param can not be empty",
    METHOD_NOT_SUPPORTED: "Request method not supported",
    TOKEN_INVALID: "Authentication failed",
    TOKEN_EMPTY: "CJ-Access-Token is empty",
    REFRESH_TOKEN_INVALID: "Refresh token is failure",
    API_KEY_WRONG: "APIkey is wrong, please check and try again",
    INTERFACE_NOT_FOUND: "Interface not found",
    TOO_MANY_REQUESTS: "Too Many Requests, QPS limit is 1 time/1second",
    VARIANT_NOT_FOUND: "Variant not found",
    PRODUCT_NOT_FOUND: "Product not found",
    PRODUCT_OFF_SHELF: "Product has been taken off the shelves",
    VARIANT_OFF_SHELF: "Variant has been taken off the shelves",
    ORDER_CREATE_FAILED: "order create failed",
    ORDER_CONFIRM_FAILED: "order confirm fail",
    ORDER_DELETE_FAILED: "order delete fail",
    ORDER_EXISTS: "order already exists",
    ORDER_NOT_FOUND: "order not found",
    PAY_FAILED: "pay failed",
    BALANCE_INSUFFICIENT: "Balance is insufficient",
    LOGISTIC_INVALID: "Logistic is invalid, please check it with freight calculation",
    COUNTRY_NOT_FOUND: "Country code not found",
    WEBHOOK_URL_NOT_HTTPS: "callback url must start with http:// or https://",
    DISPUTE_PRODUCTS_FAILED: "Query dispute products failed",
    DISPUTE_CONFIRM_FAILED: "Dispute confirm failed",
    DISPUTE_CREATE_FAILED: "Dispute create failed",
    DISPUTE_CANCEL_FAILED: "Dispute cancel failed",
    SANDBOX_ORDER_MISSING: "Order does not exist",
    SANDBOX_NOT_SANDBOX: "Not a sandbox order",
    SANDBOX_UNPAID_OR_CLOSED: "Order is unpaid or closed",
}


class CJError(Exception):
    """A business error answered as HTTP 200 with `result:false` and the CJ code."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else MESSAGES.get(code, "Error")
        super().__init__(f"{code}: {self.message}")


def param_empty(name: str) -> CJError:
    return CJError(PARAM_EMPTY, f"{name} can not be empty")


def _default(value: object) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: Any) -> bytes:
    """Serialise exactly: ints stay ints (big ids), Decimals become numbers."""
    return json.dumps(payload, default=_default, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(payload: Any, status_code: int = 200) -> Response:
    return Response(content=dumps(payload), status_code=status_code, media_type="application/json")


def request_id() -> str:
    return str(uuid.uuid4())


def ok(data: Any, message: str = "Success") -> Response:
    return json_response(
        {"code": OK, "result": True, "message": message, "data": data, "requestId": request_id()}
    )


def error_body(code: int, message: str | None = None) -> dict[str, Any]:
    """The body of a CJ error; 1600200 (rate limit) has no `result` and no `data`, like CJ."""
    text = message if message is not None else MESSAGES.get(code, "Error")
    if code == TOO_MANY_REQUESTS:
        return {"code": code, "message": text, "requestId": request_id()}
    return {"code": code, "result": False, "message": text, "data": None, "requestId": request_id()}


def fail(code: int, message: str | None = None) -> Response:
    return json_response(error_body(code, message))


def qps_exceeded() -> Response:
    return fail(TOO_MANY_REQUESTS)


def token_rate_limited() -> Response:
    return fail(TOO_MANY_REQUESTS, "Too Many Requests, getAccessToken limit is 1 time/5 minutes")


def points_exhausted(total: int, used: int, required: int) -> Response:
    remaining = max(total - used, 0)
    body = {
        "code": 429,
        "result": False,
        "message": (
            f"Insufficient API points. Used today: {used}, Remaining: {remaining}, "
            f"Required: {required}"
        ),
        "pointsInfo": {"total": total, "usedToday": used, "remaining": remaining},
    }
    return json_response(body, status_code=429)


def money(value: Decimal) -> Decimal:
    """Round to CJ's BigDecimal(18,2)."""
    return value.quantize(Decimal("0.01"))
