"""The API's documents (`/openapi.json`, `/docs`, `/redoc`), behind the ops key.

FastAPI's own routes for them take no dependency, so the app turns those off and these
serve the same document (`app.openapi()`, which `make openapi` writes) with the check.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from app.api.deps import require_ops_key

OPENAPI_URL = "/openapi.json"

router = APIRouter(dependencies=[Depends(require_ops_key)], include_in_schema=False)


@router.get(OPENAPI_URL)
async def openapi_document(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} - docs")


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} - ReDoc")
