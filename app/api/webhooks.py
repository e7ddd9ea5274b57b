"""CJ's webhook callbacks: `POST /webhooks/cj` (or `/webhooks/cj/{token}` with a path token).

Not under /v1: CJ does not send our API key. It signs the body instead (see
app/services/webhook_intake.py); the secret path token is the second factor that makes a
message CJ's own word (services.webhook_applier). Storing is all that happens here.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.problems import problem_responses
from app.cj.webhooks import ACK
from app.container import Container
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
# The `sign` header, documented here and read by the route itself: FastAPI's header
# parameter (and a dependency for the container) cost a webhook more than its HMAC.
_SIGN_HEADER: dict[str, Any] = {
    "parameters": [
        {
            "description": "base64 HMAC-SHA256 of the body (openId)",
            "in": "header",
            "name": "sign",
            "required": False,
            "schema": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "description": "base64 HMAC-SHA256 of the body (openId)",
                "title": "Sign",
            },
        }
    ]
}
_ACK_BODY = json.dumps(ACK, separators=(",", ":")).encode()


@router.post(
    "/cj",
    responses=_RESPONSES,
    summary="CJ order and logistics callbacks",
    openapi_extra=_SIGN_HEADER,
)
async def cj_webhook(request: Request) -> Response:
    container = _container(request)
    if container.settings.webhook_path_tokens:
        raise UnknownPathToken(f"No resource at {request.url.path}.")
    return await _receive(request, container, path_token_valid=False)


@router.post(
    "/cj/{token}",
    responses=_RESPONSES,
    summary="CJ callbacks, behind a secret path token",
    openapi_extra=_SIGN_HEADER,
)
async def cj_webhook_with_token(token: str, request: Request) -> Response:
    container = _container(request)
    accepted = container.settings.webhook_path_tokens
    if not accepted or not api_key_matches(token, accepted):
        raise UnknownPathToken("No resource at /webhooks/cj/{token} for this token.")
    return await _receive(request, container, path_token_valid=True)


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def _receive(request: Request, container: Container, *, path_token_valid: bool) -> Response:
    limit = container.settings.webhook_max_body_bytes
    raw = await request.body()
    if len(raw) > limit:
        raise WebhookTooLarge(f"A CJ webhook body may be at most {limit} bytes.")
    sign = request.headers.get("sign")
    await container.webhooks.receive(raw, sign, path_token_valid=path_token_valid)
    return Response(_ACK_BODY, media_type="application/json")
