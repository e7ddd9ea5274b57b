"""The ceiling of the rates benchmark: a bare FastAPI endpoint on the same uvicorn.

It takes the same `POST /v1/rates` body (validated by a pydantic model of the same shape,
behind the same bearer check) and answers a rate list of the same shape from a constant
table: no database, no Redis, no CJ. Whatever the service does beyond this costs throughput.
`uvicorn harness.bare_app:app --app-dir bench` (key in BENCH_BARE_API_KEY).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException
from pydantic import BaseModel, Field

API_KEY = os.environ.get("BENCH_BARE_API_KEY", "bench-bare-key")
# option id -> (destination country, first item, additional item, logistic, eta)
TABLE: dict[str, tuple[str, Decimal, Decimal, str, tuple[int, int]]] = {
    "us-standard": ("US", Decimal("7.95"), Decimal("2.00"), "USPS+", (5, 7)),
    "us-expedited": ("US", Decimal("14.95"), Decimal("3.50"), "USPS Priority", (3, 4)),
    "ca-standard": ("CA", Decimal("9.95"), Decimal("2.50"), "CJPacket Ordinary", (7, 12)),
}


class Destination(BaseModel):
    country_code: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]
    province: str | None = None
    city: str | None = None
    zip: str | None = None


class Item(BaseModel):
    sku: str | None = None
    vid: str | None = None
    quantity: Annotated[int, Field(ge=1)]


class RateRequest(BaseModel):
    option_id: str | None = None
    destination: Destination
    items: Annotated[list[Item], Field(min_length=1)]
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]


# async, as the service's dependencies: FastAPI runs a plain function in its thread pool.
async def authorised(authorization: Annotated[str, Header()] = "") -> None:
    if not secrets.compare_digest(authorization.encode(), f"Bearer {API_KEY}".encode()):
        raise HTTPException(status_code=401)


app = FastAPI()


@app.post("/v1/rates", dependencies=[Depends(authorised)])
async def rates(body: RateRequest) -> dict[str, Any]:
    country = body.destination.country_code.upper()
    units = sum(item.quantity for item in body.items)
    expires_at = (datetime.now(tz=UTC) + timedelta(minutes=15)).isoformat()
    return {
        "rates": [
            {
                "option_id": option_id,
                "amount": str(first + additional * (units - 1)),
                "currency": body.currency.upper(),
                "source": "static",
                "logistic_name": logistic,
                "eta_days": {"min": eta[0], "max": eta[1]},
                "expires_at": expires_at,
            }
            for option_id, (serves, first, additional, logistic, eta) in TABLE.items()
            if serves == country and body.option_id in (None, option_id)
        ]
    }


@app.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
