"""Helpers shared by the CJ API routers: state access, body parsing, field validation."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from cjsim import envelope
from cjsim.envelope import CJError, param_empty
from cjsim.gate import request_account
from cjsim.models import Order
from cjsim.state import Account, SimState

PREFIX = "/api2.0/v1"


def sim(request: Request) -> SimState:
    state: SimState = request.app.state.sim
    return state


def account(request: Request) -> Account:
    return request_account(request.scope)


async def body_json(request: Request) -> dict[str, Any]:
    """The JSON object body; CJ answers missing / invalid bodies with its own codes."""
    raw = await request.body()
    if not raw.strip():
        raise CJError(envelope.BODY_MISSING)
    try:
        data = json.loads(raw)
    except ValueError:
        raise CJError(envelope.BODY_NOT_JSON) from None
    if not isinstance(data, dict):
        raise CJError(envelope.PARAM_ERROR, "Request body must be a JSON object")
    return data


def opt_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CJError(envelope.PARAM_ERROR, f"{name} must be a string")
    text = str(value).strip()
    return text or None


def req_str(body: dict[str, Any], name: str) -> str:
    value = opt_str(body, name)
    if value is None:
        raise param_empty(name)
    return value


def opt_int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise CJError(envelope.PARAM_ERROR, f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise CJError(envelope.PARAM_ERROR, f"{name} must be an integer") from None


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    else:
        raise CJError(envelope.PARAM_ERROR, f"{name} must be a positive integer")
    if number <= 0:
        raise CJError(envelope.PARAM_ERROR, f"{name} must be a positive integer")
    return number


def query_str(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value.strip() if value and value.strip() else None


def owned_order(state: SimState, acc: Account, key: str | None) -> Order | None:
    """An order of this account, by CJ id or orderNumber (other accounts' orders are hidden)."""
    if not key:
        return None
    order = state.find_order(key)
    if order is None or order.api_key != acc.api_key:
        return None
    return order


def page_params(request: Request) -> tuple[int, int]:
    def _int(name: str, default: int) -> int:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return default
        try:
            return max(1, int(raw))
        except ValueError:
            raise CJError(envelope.PARAM_ERROR, f"{name} must be an integer") from None

    return _int("pageNum", 1), min(_int("pageSize", 20), 200)
