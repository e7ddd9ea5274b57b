"""FastAPI dependencies: resources, the per-request unit of work, and API-key auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Unauthorized
from app.core.security import api_key_matches
from app.db.session import session_scope
from app.resources import Resources


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_session(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(resources.sessionmaker):
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit
# can never follow a 2xx the caller already received.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="One of SERVICE_API_KEYS")


async def require_api_key(
    resources: ResourcesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Send `Authorization: Bearer <key>`.", headers=challenge)
    if not api_key_matches(credentials.credentials, resources.settings.service_api_keys):
        raise Unauthorized("The API key is not valid.", headers=challenge)
