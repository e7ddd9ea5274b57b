"""Receiving CJ's webhooks: verify, store raw, apply, all before CJ's 3 seconds are up.

Every message that passes the signature check is stored in `webhook_inbox` (unique by
`messageId`) in the request's transaction, and applied in that same transaction when it
can be trusted: its `sign` verifies against the account's openId. Otherwise (signatures
not enforced, or no openId known yet) its claim is left for the worker to confirm with
getOrderDetail, so a forged message can never move a fulfillment. Duplicates and topics
we do not use are answered 200 too: CJ switches a topic off when deliveries fail.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.cj.webhooks import LOGISTIC, ORDER, WebhookEnvelope, sign_matches
from app.core.clock import utcnow
from app.core.config import WebhookVerify
from app.core.errors import Unauthorized
from app.core.metrics import WEBHOOKS
from app.db.models import WebhookInboxMessage
from app.db.repositories.webhook_inbox import WebhookInboxRepository

log = structlog.get_logger(__name__)

APPLIED_TOPICS = frozenset({ORDER, LOGISTIC})


class SignatureRefused(Unauthorized):
    description = "Signature missing or wrong while CJ_WEBHOOK_VERIFY=enforce"


class WebhookOutcome(StrEnum):
    applied = "applied"
    duplicate = "duplicate"
    ignored = "ignored"
    awaiting_confirmation = "awaiting_confirmation"
    malformed = "malformed"


@dataclass(frozen=True)
class Received:
    outcome: WebhookOutcome
    detail: str = ""


class Applier(Protocol):
    async def apply(
        self, session: AsyncSession, row: WebhookInboxMessage, envelope: WebhookEnvelope
    ) -> bool:
        """Apply a trusted message; False when it matches no fulfillment of ours."""


class WebhookIntake:
    def __init__(
        self,
        *,
        verify: WebhookVerify,
        open_id: Callable[[], Awaitable[str | None]],
        applier: Applier,
    ) -> None:
        self._verify = verify
        self._open_id = open_id
        self._applier = applier

    async def receive(self, session: AsyncSession, raw: bytes, sign: str | None) -> Received:
        signature_valid = await self._check_signature(raw, sign)
        inbox = WebhookInboxRepository(session)
        try:
            envelope = WebhookEnvelope.model_validate(json.loads(raw))
        except (ValueError, ValidationError) as exc:
            detail = _malformed_detail(exc)
            await inbox.add(
                WebhookInboxMessage(
                    raw_body=_as_text(raw),
                    signature_valid=signature_valid,
                    status=WebhookOutcome.malformed.value,
                    error=detail,
                )
            )
            WEBHOOKS.labels(topic="unknown", outcome=WebhookOutcome.malformed.value).inc()
            log.warning("cj_webhook_malformed", error=detail)
            return Received(WebhookOutcome.malformed, detail)

        topic = envelope.type.upper()
        row = await inbox.add(
            WebhookInboxMessage(
                message_id=envelope.message_id,
                topic=topic,
                message_type=envelope.message_type,
                raw_body=_as_text(raw),
                signature_valid=signature_valid,
                status="received",
            )
        )
        if row is None:
            return self._count(topic, envelope, Received(WebhookOutcome.duplicate))
        if topic not in APPLIED_TOPICS:
            return self._count(topic, envelope, self._finish(row, WebhookOutcome.ignored))
        if not signature_valid:
            row.status = WebhookOutcome.awaiting_confirmation.value
            row.next_attempt_at = utcnow()
            return self._count(topic, envelope, Received(WebhookOutcome.awaiting_confirmation))
        if await self._applier.apply(session, row, envelope):
            return self._count(topic, envelope, self._finish(row, WebhookOutcome.applied))
        row.error = "no fulfillment of ours matches this CJ order"
        return self._count(topic, envelope, self._finish(row, WebhookOutcome.ignored, row.error))

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

    @staticmethod
    def _finish(row: WebhookInboxMessage, outcome: WebhookOutcome, error: str = "") -> Received:
        row.status = outcome.value
        row.processed_at = utcnow()
        return Received(outcome, error)

    @staticmethod
    def _count(topic: str, envelope: WebhookEnvelope, received: Received) -> Received:
        label = topic if topic in APPLIED_TOPICS else "other"
        WEBHOOKS.labels(topic=label, outcome=received.outcome.value).inc()
        log.info(
            "cj_webhook_received",
            topic=topic,
            message_type=envelope.message_type,
            message_id=envelope.message_id,
            outcome=received.outcome.value,
        )
        return received


def _malformed_detail(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors())
        return f"not a CJ webhook message: check {fields}"
    return "the body is not JSON"


def _as_text(raw: bytes) -> str:
    """The body as storable text (Postgres text refuses NUL characters)."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
