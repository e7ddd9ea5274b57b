"""Chat webhooks for ops alerts (`OPS_NOTIFY_URLS`): which platform each URL is.

A URL is recognised by its host (discord.com/api/webhooks, hooks.slack.com,
api.telegram.org) or by a `discord:`, `slack:`, `telegram:` or `json:` prefix (for a
proxy, or a self-hosted receiver); anything else is the generic JSON webhook (n8n). A
Telegram URL is the Bot API's sendMessage with the chat in its query:
`https://api.telegram.org/bot<token>/sendMessage?chat_id=<chat>`. The URLs hold secrets,
so a target is named `ops-<hash of its URL>` and an error never repeats the URL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit, urlunsplit

OPS_SINK_PREFIX = "ops-"


class Platform(StrEnum):
    discord = "discord"
    slack = "slack"
    telegram = "telegram"
    json = "json"


@dataclass(frozen=True)
class ChatTarget:
    platform: Platform
    url: str  # where to POST (Telegram: without the query)
    chat_id: str | None = None  # Telegram only

    @property
    def sink_name(self) -> str:
        digest = hashlib.sha256(f"{self.platform}:{self.url}:{self.chat_id}".encode()).hexdigest()
        return f"{OPS_SINK_PREFIX}{digest[:12]}"


def parse_target(raw: str) -> ChatTarget:
    """The target a configured URL names; ValueError (without the URL) when unusable."""
    platform: Platform | None = None
    text = raw.strip()
    prefix, _, rest = text.partition(":")
    if prefix in Platform.__members__ and rest.startswith(("http://", "https://")):
        platform, text = Platform(prefix), rest
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("an OPS_NOTIFY_URLS entry is not an http(s) URL")
    host = parts.hostname or ""
    if platform is None:
        if host in ("discord.com", "discordapp.com") and parts.path.startswith("/api/webhooks/"):
            platform = Platform.discord
        elif host == "hooks.slack.com":
            platform = Platform.slack
        elif host == "api.telegram.org":
            platform = Platform.telegram
        else:
            platform = Platform.json
    if platform is Platform.telegram:
        chat = parse_qs(parts.query).get("chat_id", [""])[0]
        if not chat or not parts.path.endswith("/sendMessage"):
            raise ValueError(
                "a Telegram OPS_NOTIFY_URLS entry is https://api.telegram.org/bot<token>"
                "/sendMessage?chat_id=<chat>"
            )
        return ChatTarget(platform, urlunsplit(parts._replace(query="")), chat)
    return ChatTarget(platform, text)
