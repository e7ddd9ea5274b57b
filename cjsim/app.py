"""The simulator's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from cjsim import control, envelope
from cjsim.api import account, auth, disputes, logistics, orders, pay, products, sandbox
from cjsim.envelope import CJError
from cjsim.gate import API_PREFIX, ApiGate
from cjsim.state import SimState
from cjsim.state_file import SaveBeforeAnswer, StateFile


async def _cj_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CJError)
    return envelope.fail(exc.code, exc.message)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Under the CJ prefix, unknown paths and methods answer like CJ (HTTP 200 + code)."""
    assert isinstance(exc, StarletteHTTPException)
    if request.url.path.startswith(API_PREFIX):
        if exc.status_code == 404:
            return envelope.fail(envelope.INTERFACE_NOT_FOUND)
        if exc.status_code == 405:
            return envelope.fail(envelope.METHOD_NOT_SUPPORTED)
    return await http_exception_handler(request, exc)


def create_app(state: SimState | None = None, state_file: StateFile | None = None) -> FastAPI:
    """Build a simulator app; pass a `SimState` to share or inspect state (tests do), and a
    `StateFile` to start from the saved state and save every change (`python -m cjsim`)."""
    sim_state = state if state is not None else SimState()
    if state_file is not None:
        state_file.load_into(sim_state)
    app = FastAPI(title="cjsim", summary="A stateful CJ Dropshipping API 2.0 simulator")
    app.state.sim = sim_state
    for module in (auth, account, logistics, orders, pay, sandbox, disputes, products):
        app.include_router(module.router)
    app.include_router(control.router)
    app.add_exception_handler(CJError, _cj_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    if state_file is not None:  # inside the gate: a held answer is saved before it is held
        app.add_middleware(SaveBeforeAnswer, state=sim_state, state_file=state_file)
    app.add_middleware(ApiGate, state=sim_state)
    return app
