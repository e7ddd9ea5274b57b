"""Ops alerts to chat: Discord, Slack, Telegram (Bot API) and a generic JSON webhook (n8n,
Zapier …), each in its platform's own format, configured by URL (`OPS_NOTIFY_URLS`).

Which platform a URL is, and the sink's name: `app.core.chat_targets`. No URL is ever
logged (they hold the webhook and bot tokens).

Bodies, per each platform's documentation:
- Discord execute webhook: `content` (at most 2000 characters) and one embed (`title` at
  most 256, `description` at most 4096, `color`, `timestamp`), `allowed_mentions` empty so
  no text from an order can ping anyone. Success is 204 (or 200).
- Slack incoming webhook: `text` (mrkdwn, `&`, `<` and `>` escaped). Success is 200 `ok`.
- Telegram sendMessage: `chat_id` and plain `text` (1 to 4096 characters). Success is
  `{"ok": true, …}`; a failure is `{"ok": false, "error_code", "description"}`.
- Generic JSON: the `OpsAlert` itself.

Answers: 2xx is done (Telegram: and `ok`); 408, 425, 429 and 5xx are retried; 401, 403 are
our credentials (retried, reported); other 4xx mean the platform refuses this body or the
webhook is gone (given up), except for the generic sink, whose receiver may fix itself.
"""

from __future__ import annotations

from typing import Any

import httpx

from app.core.chat_targets import ChatTarget, Platform
from app.sinks.base import (
    DEFAULT_TIMEOUT,
    Delivery,
    DeliveryError,
    DeliveryOutcome,
    response_reason,
    transport_failure,
)
from app.sinks.notification import NotificationEvent
from app.sinks.ops_alert import AlertState, OpsAlert

_RETRIED = frozenset({408, 425, 429})
_FIRING_COLOR = 0xD93025
_RESOLVED_COLOR = 0x1E8E3E
DISCORD_CONTENT_MAX = 2000
DISCORD_TITLE_MAX = 256
DISCORD_DESCRIPTION_MAX = 4096
TELEGRAM_TEXT_MAX = 4096


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def discord_body(alert: OpsAlert) -> dict[str, Any]:
    resolved = alert.state is AlertState.resolved
    return {
        "username": "cj-fulfillment",
        "content": _cut(alert.headline, DISCORD_CONTENT_MAX),
        "embeds": [
            {
                "title": _cut(alert.title, DISCORD_TITLE_MAX),
                "description": _cut(alert.text, DISCORD_DESCRIPTION_MAX),
                "color": _RESOLVED_COLOR if resolved else _FIRING_COLOR,
                "timestamp": alert.timestamp.isoformat(),
                "footer": {"text": f"{alert.incident} · {alert.severity}"},
            }
        ],
        "allowed_mentions": {"parse": []},
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(alert: OpsAlert) -> dict[str, Any]:
    return {"text": f"*{_slack_escape(alert.headline)}*\n{_slack_escape(alert.text)}"}


def telegram_body(alert: OpsAlert, chat_id: str) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "text": _cut(f"{alert.headline}\n\n{alert.text}", TELEGRAM_TEXT_MAX),
        "disable_web_page_preview": True,
    }


def body_for(target: ChatTarget, alert: OpsAlert) -> dict[str, Any]:
    if target.platform is Platform.discord:
        return discord_body(alert)
    if target.platform is Platform.slack:
        return slack_body(alert)
    if target.platform is Platform.telegram:
        assert target.chat_id is not None
        return telegram_body(alert, target.chat_id)
    return alert.model_dump(mode="json")


class ChatSink:
    """One chat target. It takes no fulfillment events: its outbox rows are ops alerts,
    written by the ops alerter (`app.services.ops_alerts`)."""

    events: frozenset[NotificationEvent] = frozenset()

    def __init__(self, target: ChatTarget, *, http: httpx.AsyncClient | None = None) -> None:
        self.target = target
        self.name = target.sink_name
        self._http = http or httpx.AsyncClient(
            timeout=DEFAULT_TIMEOUT, headers={"User-Agent": "cj-fulfillment"}
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def deliver(self, delivery: Delivery) -> DeliveryOutcome:
        alert = OpsAlert.model_validate(delivery.payload)
        try:
            response = await self._http.post(self.target.url, json=body_for(self.target, alert))
        except httpx.HTTPError as exc:
            raise transport_failure(exc) from exc
        if response.is_success and self._accepted(response):
            return DeliveryOutcome.delivered
        reason = f"{self.target.platform}: {response_reason(response)}"
        status = response.status_code
        if status in (401, 403):
            raise DeliveryError(reason, auth=True)
        retried = status in _RETRIED or status >= 500 or response.is_success
        generic = self.target.platform is Platform.json
        raise DeliveryError(reason, permanent=not (retried or generic), status=status)

    def _accepted(self, response: httpx.Response) -> bool:
        if self.target.platform is not Platform.telegram:
            return True
        try:
            return response.json().get("ok") is True
        except (ValueError, AttributeError):
            return False
