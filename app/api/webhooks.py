"""CJ's webhook callbacks: `POST /webhooks/cj` (or `/webhooks/cj/{token}` with a path token).

Not under /v1: CJ does not send our API key. It signs the body instead (see
app/services/webhook_intake.py); the secret path token is the second factor that makes a
message CJ's own word (services.webhook_applier). Storing is all that happens here.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep
from app.api.problems import problem_responses
from app.cj.webhooks import ACK
from app.core.errors import DatabaseUnavailable, InvalidRequest, NotFound, PayloadTooLarge
from app.core.security import api_key_matches
from app.services.webhook_intake import SignatureRefused

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class UnknownPathToken(NotFound):
    description = "Wrong or missing path token"


class WebhookTooLarge(PayloadTooLarge):
    description = "Body larger than WEBHOOK_MAX_BODY_BYTES"


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Stored (also duplicates, topics we do not use, and bodies that are not "
        "a CJ message: those are kept as malformed)"
    },
    **problem_responses(
        SignatureRefused, UnknownPathToken, WebhookTooLarge, InvalidRequest, DatabaseUnavailable
    ),
}
SignHeader = Annotated[
    str | None, Header(alias="sign", description="base64 HMAC-SHA256 of the body (openId)")
]


@router.post("/cj", responses=_RESPONSES, summary="CJ order and logistics callbacks")
async def cj_webhook(
    request: Request,
    container: ContainerDep,
    sign: SignHeader = None,
) -> JSONResponse:
    if container.settings.webhook_path_tokens:
        raise UnknownPathToken(f"No resource at {request.url.path}.")
    return await _receive(request, container, sign, path_token_valid=False)


@router.post(
    "/cj/{token}", responses=_RESPONSES, summary="CJ callbacks, behind a secret path token"
)
async def cj_webhook_with_token(
    token: str,
    request: Request,
    container: ContainerDep,
    sign: SignHeader = None,
) -> JSONResponse:
    accepted = container.settings.webhook_path_tokens
    if not accepted or not api_key_matches(token, accepted):
        raise UnknownPathToken("No resource at /webhooks/cj/{token} for this token.")
    return await _receive(request, container, sign, path_token_valid=True)


async def _receive(
    request: Request,
    container: ContainerDep,
    sign: str | None,
    *,
    path_token_valid: bool,
) -> JSONResponse:
    limit = container.settings.webhook_max_body_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise WebhookTooLarge(f"A CJ webhook body may be at most {limit} bytes.")
    await container.webhooks.receive(raw, sign, path_token_valid=path_token_valid)
    return JSONResponse(ACK)
