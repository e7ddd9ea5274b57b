"""The chat sinks: each platform's body, accepted by a local server that checks the shape
its documentation gives (tests/fixtures/chat_platforms.py); URLs recognised; answers
mapped to done, retry or give up."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.chat_targets import Platform, parse_target
from app.sinks.base import Delivery, DeliveryError, DeliveryOutcome
from app.sinks.chat import ChatSink
from app.sinks.ops_alert import AlertState, OpsAlert, ops_alert_event
from tests.fixtures.app import make_settings
from tests.fixtures.chat_platforms import ChatPlatforms

SECRET_TOKEN = "TOKENabc123secret"


def target_urls(base: str) -> dict[str, str]:
    """One URL per platform on the local server, prefixed as a proxy's URL would be."""
    return {
        "discord": f"discord:{base}/api/webhooks/1234567890/{SECRET_TOKEN}",
        "slack": f"slack:{base}/services/T000/B000/{SECRET_TOKEN}",
        "telegram": f"telegram:{base}/bot123456:{SECRET_TOKEN}/sendMessage?chat_id=-1001234",
        "json": f"{base}/webhook/ops-alerts",
    }


def alert(state: AlertState = AlertState.firing, text: str = "CJ has not answered.") -> OpsAlert:
    return OpsAlert(
        id="ops_1",
        incident="cj_unreachable",
        state=state,
        severity="critical",
        title="CJ is unreachable",
        text=text,
        timestamp=datetime(2026, 12, 1, 12, 0, tzinfo=UTC),
    )


def delivery(sent: OpsAlert) -> Delivery:
    event = ops_alert_event(sent.incident, sent.state)
    return Delivery(1, event, sent.model_dump(mode="json"))


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://discord.com/api/webhooks/1/abc", Platform.discord),
        ("https://discordapp.com/api/webhooks/1/abc", Platform.discord),
        ("https://hooks.slack.com/services/T1/B1/xyz", Platform.slack),
        ("https://api.telegram.org/bot1:abc/sendMessage?chat_id=42", Platform.telegram),
        ("https://n8n.example.com/webhook/4f2a", Platform.json),
        ("https://discord.com/other", Platform.json),
        ("slack:https://proxy.example.com/slack", Platform.slack),
    ],
)
def test_urls_are_recognised(url: str, platform: Platform) -> None:
    assert parse_target(url).platform is platform


def test_a_telegram_url_posts_without_its_query() -> None:
    target = parse_target("https://api.telegram.org/bot1:abc/sendMessage?chat_id=-100")
    assert (target.url, target.chat_id) == ("https://api.telegram.org/bot1:abc/sendMessage", "-100")
    assert target.sink_name.startswith("ops-")
    assert SECRET_TOKEN not in target.sink_name


@pytest.mark.parametrize(
    "url",
    [
        f"https://api.telegram.org/bot1:{SECRET_TOKEN}/sendMessage",
        f"ftp://example.com/{SECRET_TOKEN}",
        f"discord:{SECRET_TOKEN}",
    ],
)
def test_an_unusable_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_settings(ops_notify_urls=url)
    assert "OPS_NOTIFY_URLS" in str(caught.value)
    assert SECRET_TOKEN not in str(caught.value)


def test_several_urls_separated_by_commas_or_spaces() -> None:
    settings = make_settings(
        ops_notify_urls="https://hooks.slack.com/services/a, https://n8n.example.com/webhook/x"
    )
    assert len(settings.ops_notify_urls) == 2


@pytest.mark.parametrize("platform", ["discord", "slack", "telegram", "json"])
@pytest.mark.parametrize("state", list(AlertState))
async def test_each_platform_accepts_its_body(
    chat_platforms: ChatPlatforms, platform: str, state: AlertState
) -> None:
    sink = ChatSink(parse_target(target_urls(chat_platforms.url)[platform]))
    try:
        outcome = await sink.deliver(delivery(alert(state)))
    finally:
        await sink.aclose()
    assert outcome is DeliveryOutcome.delivered
    assert chat_platforms.refused == []
    (body,) = chat_platforms.accepted[platform]
    mark = "[RESOLVED]" if state is AlertState.resolved else "[FIRING]"
    shown = _shown_text(platform, body)
    assert mark in shown
    assert "CJ is unreachable" in shown


def _shown_text(platform: str, body: dict[str, Any]) -> str:
    if platform == "discord":
        return str(body["content"]) + " ".join(e["description"] for e in body["embeds"])
    if platform == "json":
        return f"[{body['state'].upper()}] {body['title']} {body['text']}"
    return str(body["text"])


async def test_long_texts_are_cut_to_each_platform_s_limit(chat_platforms: ChatPlatforms) -> None:
    long = alert(text="x" * 9000)
    for platform in ("discord", "telegram"):
        sink = ChatSink(parse_target(target_urls(chat_platforms.url)[platform]))
        try:
            assert await sink.deliver(delivery(long)) is DeliveryOutcome.delivered
        finally:
            await sink.aclose()
    assert chat_platforms.refused == []
    assert len(chat_platforms.accepted["telegram"][0]["text"]) == 4096


async def test_slack_text_is_escaped_and_discord_mentions_nobody(
    chat_platforms: ChatPlatforms,
) -> None:
    sneaky = alert(text="Reason: <@everyone> & <!channel>")
    urls = target_urls(chat_platforms.url)
    for platform in ("slack", "discord"):
        sink = ChatSink(parse_target(urls[platform]))
        try:
            await sink.deliver(delivery(sneaky))
        finally:
            await sink.aclose()
    assert "&lt;@everyone&gt; &amp; &lt;!channel&gt;" in chat_platforms.accepted["slack"][0]["text"]
    assert chat_platforms.accepted["discord"][0]["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize(
    ("platform", "status", "body", "permanent", "auth"),
    [
        (
            "discord",
            429,
            {"message": "You are being rate limited.", "retry_after": 1.0},
            False,
            False,
        ),
        ("discord", 404, {"message": "Unknown Webhook", "code": 10015}, True, False),
        ("slack", 404, "no_service", True, False),
        ("slack", 403, "action_prohibited", False, True),
        ("slack", 500, "internal_error", False, False),
        ("telegram", 200, {"ok": False, "error_code": 400, "description": "odd"}, False, False),
        (
            "telegram",
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
            False,
            True,
        ),
        ("json", 404, {"message": "webhook not registered"}, False, False),
    ],
)
async def test_answers_become_retry_give_up_or_auth(
    chat_platforms: ChatPlatforms,
    platform: str,
    status: int,
    body: Any,
    permanent: bool,
    auth: bool,
) -> None:
    chat_platforms.fail_next(platform, status, body)
    sink = ChatSink(parse_target(target_urls(chat_platforms.url)[platform]))
    try:
        with pytest.raises(DeliveryError) as caught:
            await sink.deliver(delivery(alert()))
    finally:
        await sink.aclose()
    assert (caught.value.permanent, caught.value.auth) == (permanent, auth)
    assert SECRET_TOKEN not in caught.value.reason
