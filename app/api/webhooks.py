"""CJ's webhook callbacks: `POST /webhooks/cj` (or `/webhooks/cj/{token}` with a path token).

Not under /v1: CJ does not send our API key. It signs the body instead (see
app/services/webhook_intake.py), and an optional secret path token adds a second factor.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from app.api.deps import ContainerDep, SessionDep
from app.api.middleware.request_id import request_id_of
from app.api.problems import PROBLEM_CONTENT_TYPE, Problem, problem_response
from app.cj.webhooks import ACK
from app.core.errors import NotFound, PayloadTooLarge
from app.core.security import api_key_matches
from app.services.webhook_intake import WebhookOutcome

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Received (also for duplicates and topics we do not use)"},
    **{
        status: {"model": Problem, "content": {PROBLEM_CONTENT_TYPE: {}}, "description": text}
        for status, text in (
            (400, "Not a CJ webhook message (stored for inspection)"),
            (401, "Signature missing or wrong while CJ_WEBHOOK_VERIFY=enforce"),
            (404, "Wrong or missing path token"),
            (413, "Body larger than WEBHOOK_MAX_BODY_BYTES"),
        )
    },
}
SignHeader = Annotated[
    str | None, Header(alias="sign", description="base64 HMAC-SHA256 of the body (openId)")
]


@router.post("/cj", responses=_RESPONSES, summary="CJ order and logistics callbacks")
async def cj_webhook(
    request: Request, container: ContainerDep, session: SessionDep, sign: SignHeader = None
) -> JSONResponse:
    if container.settings.cj_webhook_path_token is not None:
        raise NotFound(f"No resource at {request.url.path}.")
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
        raise NotFound("No resource at /webhooks/cj/{token} for this token.")
    return await _receive(request, container, session, sign)


async def _receive(
    request: Request, container: ContainerDep, session: SessionDep, sign: str | None
) -> JSONResponse:
    limit = container.settings.webhook_max_body_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLarge(f"A CJ webhook body may be at most {limit} bytes.")
    received = await container.webhooks.receive(session, raw, sign)
    if received.outcome is WebhookOutcome.malformed:
        # Returned, not raised: the stored copy must be committed with the answer.
        return problem_response(
            status=400,
            title="Bad Request",
            detail=f"{received.detail}; the body is kept for inspection.",
            type_slug="malformed-webhook",
            instance=request.url.path,
            request_id=request_id_of(request.scope),
        )
    return JSONResponse(ACK)
