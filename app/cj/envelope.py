"""CJ's response envelope: `{code, result, message, data, requestId}`, always HTTP 200."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

import httpx

from app.cj.errors import CJError, CJPointsExhausted, CJUpstreamError, error_for_code

SUCCESS_CODES = frozenset({200, 0})


@dataclass(frozen=True)
class PointsInfo:
    """CJ's `pointsInfo`: the day's API point allowance and what is left of it."""

    total: int
    remaining: int

    def to_json(self) -> str:
        return json.dumps({"total": self.total, "remaining": self.remaining})

    @classmethod
    def from_json(cls, raw: str | bytes) -> PointsInfo:
        value = json.loads(raw)
        return cls(total=int(value["total"]), remaining=int(value["remaining"]))


def next_utc_midnight(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def unwrap(response: httpx.Response) -> tuple[Any, str | None]:
    """The `data` of a successful answer and CJ's requestId; a typed CJError otherwise."""
    body = _json_or_none(response)
    request_id = _request_id(body)
    if response.status_code == 429:
        message = body.get("message") if isinstance(body, dict) else None
        raise CJPointsExhausted(
            str(message or "CJ API points exhausted"),
            until=next_utc_midnight(),
            request_id=request_id,
        )
    if response.status_code >= 500:
        raise CJUpstreamError(f"CJ answered HTTP {response.status_code}", request_id=request_id)
    if not isinstance(body, dict):
        raise CJUpstreamError(
            f"CJ answered HTTP {response.status_code} without a JSON envelope",
            request_id=request_id,
        )
    if is_success(body):
        return body.get("data"), request_id
    code = body.get("code")
    message = str(body.get("message") or "")
    if isinstance(code, int):
        raise error_for_code(code, message, request_id)
    if response.status_code >= 400:
        raise error_for_code(response.status_code, message, request_id)
    raise CJError(message or "CJ reported a failure without a code", request_id=request_id)


def is_success(body: dict[str, Any]) -> bool:
    """A numeric code decides; without one, `result` or `success` must be true."""
    code = body.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code in SUCCESS_CODES
    return body.get("result") is True or body.get("success") is True


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _request_id(body: Any) -> str | None:
    if isinstance(body, dict):
        value = body.get("requestId")
        return str(value) if value is not None else None
    return None


def points_info(response: httpx.Response) -> PointsInfo | None:
    """The `pointsInfo` of an answer, when it has a well-formed one.

    CJ's points page shows it on the 429 "Insufficient API points" answer; other answers
    reportedly carry it too, so it is read from any answer and ignored when absent or odd.
    """
    if b"pointsInfo" not in response.content:
        return None
    body = _json_or_none(response)
    info = body.get("pointsInfo") if isinstance(body, dict) else None
    if not isinstance(info, dict):
        return None
    total, remaining = info.get("total"), info.get("remaining")
    if not (_count(total) and _count(remaining)):
        return None
    return PointsInfo(total=total, remaining=remaining)


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
