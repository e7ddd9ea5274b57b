"""Receiving CJ's webhooks: verify and store, nothing else, well inside CJ's 3 seconds.

A message that passes the signature check is stored raw in `webhook_inbox` (unique by
`messageId`; the deliveries arriving together share one insert, db.inbox_writer) with
what the request proved: a valid `sign`, and whether it
came on the secret path token. The worker applies it later (services.webhook_applier),
so the answer never waits for the fulfillment's lock, CJ or the store. Duplicates, topics
we do not use and bodies we cannot read are answered 200 too (the unreadable ones stored
as malformed): CJ counts every non-200 toward switching a topic off.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import structlog

from app.cj.catalogue_webhooks import CATALOGUE_TOPICS
from app.cj.webhooks import (
    LOGISTIC,
    ORDER,
    ORDERSPLIT,
    MalformedWebhook,
    message_id_of,
    read_envelope,
    sign_matches,
)
from app.core.clock import utcnow
from app.core.config import WebhookVerify
from app.core.errors import Unauthorized
from app.core.metrics import WEBHOOKS
from app.db.inbox_writer import InboxWriter, Row

log = structlog.get_logger(__name__)
_stdlib_log = logging.getLogger(__name__)

APPLIED_TOPICS = frozenset({ORDER, LOGISTIC, ORDERSPLIT, *CATALOGUE_TOPICS})


class SignatureRefused(Unauthorized):
    description = "Signature missing or wrong while CJ_WEBHOOK_VERIFY=enforce"


class WebhookOutcome(StrEnum):
    stored = "stored"
    duplicate = "duplicate"
    ignored = "ignored"
    malformed = "malformed"


@dataclass(frozen=True)
class Received:
    outcome: WebhookOutcome
    detail: str = ""


class WebhookIntake:
    def __init__(
        self,
        inbox: InboxWriter,
        *,
        verify: WebhookVerify,
        open_id: Callable[[], Awaitable[str | None]],
    ) -> None:
        self._inbox = inbox
        self._verify = verify
        self._open_id = open_id

    async def receive(self, raw: bytes, sign: str | None, *, path_token_valid: bool) -> Received:
        signature_valid = await self._check_signature(raw, sign)
        now = utcnow()
        try:
            envelope = read_envelope(raw)
        except MalformedWebhook as exc:
            await self._inbox.store(
                _row(
                    message_id=message_id_of(raw),
                    raw=raw,
                    signature_valid=signature_valid,
                    path_token_valid=path_token_valid,
                    status=WebhookOutcome.malformed.value,
                    error=str(exc),
                    received_at=now,
                    processed_at=now,
                )
            )
            WEBHOOKS.labels(topic="unknown", outcome=WebhookOutcome.malformed.value).inc()
            log.warning("cj_webhook_malformed", error=str(exc))
            return Received(WebhookOutcome.malformed, str(exc))

        topic = envelope.type.upper()
        applied = topic in APPLIED_TOPICS
        stored = await self._inbox.store(
            _row(
                message_id=envelope.message_id,
                topic=topic,
                message_type=envelope.message_type,
                raw=raw,
                signature_valid=signature_valid,
                path_token_valid=path_token_valid,
                status="received" if applied else WebhookOutcome.ignored.value,
                received_at=now,
                processed_at=None if applied else now,
            )
        )
        if not stored:
            outcome = WebhookOutcome.duplicate
        else:
            outcome = WebhookOutcome.stored if applied else WebhookOutcome.ignored
        WEBHOOKS.labels(topic=topic if applied else "other", outcome=outcome.value).inc()
        if _stdlib_log.isEnabledFor(logging.INFO):  # below INFO: not even the event built
            log.info(
                "cj_webhook_received",
                topic=topic,
                message_type=envelope.message_type,
                message_id=envelope.message_id,
                outcome=outcome.value,
            )
        return Received(outcome)

    async def _check_signature(self, raw: bytes, sign: str | None) -> bool:
        """Whether `sign` verifies; raises Unauthorized when it must and does not."""
        if self._verify is WebhookVerify.off:
            return False
        open_id = await self._open_id()
        if open_id is None:
            # Nothing to check against yet (no token bought): the claim will be confirmed.
            log.warning("cj_webhook_unverifiable", reason="openId unknown")
            return False
        valid = sign_matches(raw, sign, open_id)
        if not valid and self._verify is WebhookVerify.enforce:
            reason = "unsigned" if not sign else "bad_signature"
            WEBHOOKS.labels(topic="unknown", outcome=f"rejected_{reason}").inc()
            log.warning("cj_webhook_rejected", reason=reason)
            raise SignatureRefused("The `sign` header is missing or does not match the body.")
        if not valid:
            log.warning("cj_webhook_signature_mismatch", signed=bool(sign))
        return valid


def _row(
    *,
    raw: bytes,
    message_id: str | None,
    signature_valid: bool,
    path_token_valid: bool,
    status: str,
    received_at: datetime,
    processed_at: datetime | None,
    topic: str | None = None,
    message_type: str | None = None,
    error: str | None = None,
) -> Row:
    return {
        "message_id": message_id,
        "topic": topic,
        "message_type": message_type,
        "raw_body": _as_text(raw),
        "signature_valid": signature_valid,
        "path_token_valid": path_token_valid,
        "status": status,
        "error": error,
        "attempts": 0,
        "received_at": received_at,
        "processed_at": processed_at,
    }


def _as_text(raw: bytes) -> str:
    """The body as storable text (Postgres text refuses NUL characters)."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
