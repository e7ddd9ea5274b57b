"""CJ's webhook callbacks: `POST /webhooks/cj` (or `/webhooks/cj/{token}` with a path token).

Not under /v1: CJ does not send our API key. It signs the body instead (see
app/services/webhook_intake.py), and an optional secret path token adds a second factor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep, SessionDep
from app.api.problems import error_response, problem_responses
from app.cj.webhooks import ACK
from app.core.errors import BadRequest, InvalidRequest, NotFound, PayloadTooLarge
from app.core.security import api_key_matches
from app.services.webhook_intake import SignatureRefused, WebhookOutcome

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class MalformedWebhook(BadRequest):
    type_slug = "malformed-webhook"
    description = "Not a CJ webhook message (stored for inspection)"


class UnknownPathToken(NotFound):
    description = "Wrong or missing path token"


class WebhookTooLarge(PayloadTooLarge):
    description = "Body larger than WEBHOOK_MAX_BODY_BYTES"


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Received (also for duplicates and topics we do not use)"},
    **problem_responses(
        MalformedWebhook, SignatureRefused, UnknownPathToken, WebhookTooLarge, InvalidRequest
    ),
}
SignHeader = Annotated[
    str | None, Header(alias="sign", description="base64 HMAC-SHA256 of the body (openId)")
]


@router.post("/cj", responses=_RESPONSES, summary="CJ order and logistics callbacks")
async def cj_webhook(
    request: Request, container: ContainerDep, session: SessionDep, sign: SignHeader = None
) -> JSONResponse:
    if container.settings.cj_webhook_path_token is not None:
        raise UnknownPathToken(f"No resource at {request.url.path}.")
    return await _receive(request, container, session, sign)


@router.post(
    "/cj/{token}", responses=_RESPONSES, summary="CJ callbacks, behind a secret path token"
)
async def cj_webhook_with_token(
    token: str,
    request: Request,
    container: ContainerDep,
    session: SessionDep,
    sign: SignHeader = None,
) -> JSONResponse:
    expected = container.settings.cj_webhook_path_token
    if expected is None or not api_key_matches(token, [expected]):
        raise UnknownPathToken("No resource at /webhooks/cj/{token} for this token.")
    return await _receive(request, container, session, sign)


async def _receive(
    request: Request, container: ContainerDep, session: SessionDep, sign: str | None
) -> JSONResponse:
    limit = container.settings.webhook_max_body_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise WebhookTooLarge(f"A CJ webhook body may be at most {limit} bytes.")
    received = await container.webhooks.receive(session, raw, sign)
    if received.outcome is WebhookOutcome.malformed:
        # Returned, not raised: the stored copy must be committed with the answer.
        malformed = MalformedWebhook(f"{received.detail}; the body is kept for inspection.")
        return error_response(malformed, request.scope)
    return JSONResponse(ACK)
