"""How `POST /v1/fulfillments` answers each placement, in status code and body.

201 when CJ has the order, 202 while it is queued, 422 `fulfillment-failed` when CJ
refused it. The service stores this answer with the Idempotency-Key, so a replay gives
the same one; the route adds the headers (`Location`, `Idempotent-Replayed`).
"""

from __future__ import annotations

from app.api.problems import error_body
from app.db.models import Fulfillment
from app.db.repositories.idempotency import StoredAnswer
from app.schemas.fulfillments import FulfillmentRead
from app.services.fulfillments import FulfillmentFailed, Placement

_SUCCESS = {Placement.created: 201, Placement.queued: 202}


def answer_for(placement: Placement, fulfillment: Fulfillment) -> StoredAnswer:
    body = FulfillmentRead.of(fulfillment).model_dump(mode="json")
    if placement is Placement.refused:
        error = FulfillmentFailed(
            fulfillment.status_reason or "CJ refused the order.", extra={"fulfillment": body}
        )
        return StoredAnswer(error.status_code, error_body(error))
    return StoredAnswer(_SUCCESS[placement], body)
