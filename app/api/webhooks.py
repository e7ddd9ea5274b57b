"""CJ's webhook callbacks: `POST /webhooks/cj` (or `/webhooks/cj/{token}` with a path token).

Not under /v1: CJ does not send our API key. It signs the body instead (see
app/services/webhook_intake.py); the secret path token is the second factor that makes a
message CJ's own word (services.webhook_applier). Storing is all that happens here.

A request is served by app.api.raw_webhooks (reached from app.api.fast_paths, without
FastAPI's routing), through the same `path_token_valid` and `store`; the routes are
declared here for the OpenAPI document and as the reference its answers are compared with.
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
ACK_BODY = json.dumps(ACK, separators=(",", ":")).encode()
ACK_HEADERS = tuple(Response(ACK_BODY, media_type="application/json").raw_headers)


@router.post(
    "/cj",
    responses=_RESPONSES,
    summary="CJ order and logistics callbacks",
    openapi_extra=_SIGN_HEADER,
)
async def cj_webhook(request: Request) -> Response:
    container = _container(request)
    valid = path_token_valid(container, None, request.url.path)
    raw = await request.body()
    await store(container, raw, request.headers.get("sign"), path_token_valid=valid)
    return Response(ACK_BODY, media_type="application/json")


@router.post(
    "/cj/{token}",
    responses=_RESPONSES,
    summary="CJ callbacks, behind a secret path token",
    openapi_extra=_SIGN_HEADER,
)
async def cj_webhook_with_token(token: str, request: Request) -> Response:
    container = _container(request)
    valid = path_token_valid(container, token, request.url.path)
    raw = await request.body()
    await store(container, raw, request.headers.get("sign"), path_token_valid=valid)
    return Response(ACK_BODY, media_type="application/json")


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def path_token_valid(container: Container, token: str | None, path: str) -> bool:
    """Whether the message came on a secret path token (`token` is None on `/webhooks/cj`);
    `UnknownPathToken` when this path is not one the settings serve."""
    accepted = container.settings.webhook_path_tokens
    if token is None:
        if accepted:
            raise UnknownPathToken(f"No resource at {path}.")
        return False
    if not accepted or not api_key_matches(token, accepted):
        raise UnknownPathToken("No resource at /webhooks/cj/{token} for this token.")
    return True


async def store(
    container: Container, raw: bytes, sign: str | None, *, path_token_valid: bool
) -> None:
    """The body handed to the intake; `WebhookTooLarge` over `WEBHOOK_MAX_BODY_BYTES`."""
    limit = container.settings.webhook_max_body_bytes
    if len(raw) > limit:
        raise WebhookTooLarge(f"A CJ webhook body may be at most {limit} bytes.")
    await container.webhooks.receive(raw, sign, path_token_valid=path_token_valid)
