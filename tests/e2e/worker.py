"""One OS process with its own CJ client, for the cross-process end-to-end tests.

`python -m tests.e2e.worker MODE COUNT RESULT_PATH DEADLINE_SECONDS`, settings from the
environment exactly as the service reads them (CJ_API_BASE_URL, CJ_API_KEY, CJ_QPS,
DATABASE_URL, REDIS_URL, TOKEN_ENCRYPTION_KEY). The worker builds its container as the
service does (`Container.build`: Redis limiter, Redis breaker, Postgres token store), creates
RESULT_PATH + ".ready", waits for one line on stdin (the start signal, so that every worker
starts at once), runs COUNT concurrent calls and writes a JSON report to RESULT_PATH.

MODE `freight`: COUNT freightCalculate calls (CN to US), each allowed DEADLINE_SECONDS.
MODE `token`: COUNT concurrent requests for an access token.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from app.cj.client import CJClient
from app.cj.models import FreightProduct, FreightRequest
from app.container import Container
from app.core.config import Settings
from cjsim import catalog

PHONE_CASE = catalog.variant_by_sku("CJ-PHONECASE-IPHONE15-BLACK")


async def freight(cj: CJClient, deadline: float) -> list[str]:
    assert PHONE_CASE is not None
    request = FreightRequest(
        start_country_code="CN",
        end_country_code="US",
        zip="10001",
        products=[FreightProduct(vid=PHONE_CASE.vid, quantity=1)],
    )
    quotes = await cj.freight_calculate(request, deadline=deadline)
    return [quote.logistic_name for quote in quotes]


async def run(mode: str, count: int, result_path: Path, deadline_seconds: float) -> None:
    settings = Settings(_env_file=None)
    container = Container.build(settings, process=f"e2e-worker-{os.getpid()}")
    container.start()
    report: dict[str, Any] = {"pid": os.getpid(), "ok": [], "errors": []}
    try:
        Path(f"{result_path}.ready").touch()
        await asyncio.to_thread(sys.stdin.readline)
        started = time.monotonic()
        cj = container.cj
        calls: list[Any]
        if mode == "freight":
            deadline = started + deadline_seconds
            calls = [freight(cj, deadline) for _ in range(count)]
        elif mode == "token":
            calls = [cj.tokens.access_token() for _ in range(count)]
        else:
            raise SystemExit(f"unknown mode {mode!r}")
        for result in await asyncio.gather(*calls, return_exceptions=True):
            if isinstance(result, BaseException):
                report["errors"].append(repr(result))
            else:
                report["ok"].append(result)
        report["elapsed"] = time.monotonic() - started
    finally:
        await container.close()
    result_path.write_text(json.dumps(report))


def main() -> None:
    mode, count, result_path, deadline_seconds = sys.argv[1:5]
    asyncio.run(run(mode, int(count), Path(result_path), float(deadline_seconds)))


if __name__ == "__main__":
    main()
