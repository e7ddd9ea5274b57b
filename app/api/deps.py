"""FastAPI dependencies: the container, the per-request unit of work, and API-key auth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.container import Container
from app.core.config import Environment
from app.core.errors import Unauthorized
from app.core.security import api_key_matches
from app.db.session import session_scope


def container_of(request: Request) -> Container:
    """The app's container; for the hot paths, which skip FastAPI's dependency solving."""
    container: Container = request.app.state.container
    return container


async def get_container(request: Request) -> Container:
    # async: FastAPI runs a plain function dependency in its thread pool, per request.
    return container_of(request)


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_session(container: ContainerDep) -> AsyncIterator[AsyncSession]:
    async for session in session_scope(container.sessionmaker):
        yield session


# scope="function": the commit happens before the response is sent, so a failed commit
# can never follow a 2xx the caller already received.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


_bearer = HTTPBearer(auto_error=False, description="One of SERVICE_API_KEYS")


class ApiKeyRefused(Unauthorized):
    description = "Missing or wrong API key"


async def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    # The request, not ContainerDep: every /v1 call runs this, and each dependency is one
    # more FastAPI solves per request.
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiKeyRefused("Send `Authorization: Bearer <key>`.", headers=challenge)
    service_keys = container_of(request).settings.service_api_keys
    if not api_key_matches(credentials.credentials, service_keys):
        raise ApiKeyRefused("The API key is not valid.", headers=challenge)


_ops_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="OpsBearer",
    description="One of OPS_API_KEYS (required in production, and whenever OPS_API_KEYS is set)",
)


class OpsKeyRefused(Unauthorized):
    description = "Missing or wrong ops key (OPS_API_KEYS)"


async def require_ops_key(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_ops_bearer)],
) -> None:
    """`/metrics` and the API documents: open on a laptop, behind OPS_API_KEYS in production.

    Production without OPS_API_KEYS keeps them closed to everyone.
    """
    settings = container.settings
    keys = settings.ops_api_keys
    if not keys and settings.environment is not Environment.production:
        return
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise OpsKeyRefused(
            "Send `Authorization: Bearer <one of OPS_API_KEYS>`.", headers=challenge
        )
    if not api_key_matches(credentials.credentials, keys):
        raise OpsKeyRefused("The ops key is not valid.", headers=challenge)
