"""Schemathesis over the document the service serves: every operation, bounded examples.

The service runs as `uvicorn app.main:app` on the test Postgres and Redis, its CJ an
address where nothing listens (rates fall back to static prices, fulfillments queue), so
the run needs no simulator and is the same on every machine. Checks: no 5xx, every
status, content type, header and body as the document says, requests that break the
document's rules refused, every error a problem+json (RFC 9457) document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.base import Base
from tests.e2e.support import ServiceProcess, free_port
from tests.fixtures.app import API_KEY
from tests.fixtures.redis import TEST_REDIS_URL

# Examples per operation and mode: 13 operations, so about 400 requests in all.
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 12}
COMMITTED = Path(__file__).parents[2] / "openapi" / "openapi.json"
BEARER = {"Authorization": f"Bearer {API_KEY}"}
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "SERVICE_API_KEYS": API_KEY,
        # The ops surface guarded as in production (one bearer opens both, for the run).
        "OPS_API_KEYS": API_KEY,
        "TOKEN_ENCRYPTION_KEY": "fuzz-run-encryption-passphrase",
        "CJ_API_BASE_URL": f"http://127.0.0.1:{free_port()}/api2.0/v1",
        "CJ_API_KEY": "CJ0000001@api@fuzz",
        "CJ_TIMEOUT_SECONDS": "1",
        "RATES_BUDGET_MS": "300",
        "SUBMIT_BUDGET_MS": "300",
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
    }
    log = Path(tmp_path_factory.mktemp("fuzz")) / "service.log"
    process = ServiceProcess(env, log)
    try:
        process.wait_until_up(timeout=90)
        yield process.base_url
    finally:
        process.stop()


@pytest.fixture(scope="module")
async def leaves_the_database_clean(engine: AsyncEngine) -> Iterator[None]:
    """The run creates fulfillments; the tests after it expect empty tables."""
    yield
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def served_document(service: str, leaves_the_database_clean: None) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{service}/openapi.json", headers=BEARER, timeout=30)


def problem_json(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every error is an RFC 9457 document with the fields the README promises."""
    del ctx, case
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), content_type
    body = response.json()
    missing = PROBLEM_FIELDS - set(body)
    assert not missing, f"problem without {sorted(missing)}"
    assert body["status"] == response.status_code


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    problem_json,
]


def operations() -> list[tuple[str, str]]:
    """Every operation of the committed document (equal to the served one, tested below)."""
    document = json.loads(COMMITTED.read_text(encoding="utf-8"))
    return [
        (method.upper(), path)
        for path, item in sorted(document["paths"].items())
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), operations())
def test_the_served_document(
    served_document: schemathesis.BaseSchema, method: str, path: str, mode: GenerationMode
) -> None:
    operation = served_document[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=BEARER, checks=CHECKS, timeout=30)

    try:
        fuzz()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip(f"{method} {path} has no input whose rules a request could break")


def test_the_served_document_is_the_committed_one(service: str) -> None:
    assert httpx.get(f"{service}/openapi.json", timeout=30).status_code == 401
    served = httpx.get(f"{service}/openapi.json", headers=BEARER, timeout=30).json()
    assert served == json.loads(COMMITTED.read_text(encoding="utf-8"))
