"""Account settings (`setting/get`) and webhook registration (`webhook/set`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from cjsim import envelope
from cjsim.api.common import PREFIX, account, body_json, sim
from cjsim.envelope import CJError

router = APIRouter(prefix=PREFIX)

WEBHOOK_TOPICS = ("product", "stock", "order", "logistics", "makeup", "privateOrder")


@router.get("/setting/get")
async def get_settings(request: Request) -> Response:
    """Shaped like CJ's documented answer: limits live under `setting`."""
    state = sim(request)
    acc = account(request)
    callbacks = {
        topic: {
            "type": "ENABLE" if acc.callbacks.get(topic) else "CANCEL",
            "urls": list(acc.callbacks.get(topic, [])),
        }
        for topic in ("product", "stock", "order", "logistics")
    }
    data: dict[str, Any] = {
        "openId": acc.open_id,
        "openName": f"cjsim {acc.open_id}",
        "openEmail": f"{acc.open_id}@cjsim.invalid",
        "setting": {
            "quotaLimits": [
                {
                    "quotaUrl": "/api2.0/v1/logistic/freightCalculate",
                    "quotaLimit": state.config.points_per_day // 10,
                    "quotaType": 4,
                }
            ],
            "qpsLimit": state.config.qps,
        },
        "callback": callbacks,
        "root": "GENERAL",
        "isSandbox": False,
    }
    return envelope.ok(data)


@router.post("/webhook/set")
async def set_webhooks(request: Request) -> Response:
    """Store callback URLs per topic. Unlike CJ, plain http and localhost URLs are accepted."""
    acc = account(request)
    body = await body_json(request)
    changes: dict[str, list[str]] = {}
    for topic in WEBHOOK_TOPICS:
        setting = body.get(topic)
        if setting is None:
            continue
        if not isinstance(setting, dict):
            raise CJError(envelope.PARAM_ERROR, f"{topic} must be an object")
        kind = setting.get("type")
        urls = setting.get("callbackUrls") or []
        if kind not in ("ENABLE", "CANCEL"):
            raise CJError(envelope.PARAM_ERROR, f"{topic}.type must be ENABLE or CANCEL")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise CJError(envelope.PARAM_ERROR, f"{topic}.callbackUrls must be a list of URLs")
        if kind == "ENABLE":
            if not urls:
                raise envelope.param_empty(f"{topic}.callbackUrls")
            for url in urls:
                if not url.lower().startswith(("http://", "https://")):
                    raise CJError(envelope.WEBHOOK_URL_NOT_HTTPS)
            changes[topic] = list(urls)
        else:
            changes[topic] = []
    if not changes:
        raise envelope.param_empty("order")
    for topic, urls in changes.items():
        if urls:
            acc.callbacks[topic] = urls
        else:
            acc.callbacks.pop(topic, None)
    return envelope.ok(True)
