"""Which live fulfillment a new create request is already answered by.

Two cases place no second CJ order:
- The same `external_id` (the store's fulfillment id) under another Idempotency-Key: one
  live fulfillment per external_id. The same order and items get that fulfillment; other
  items are a conflict that names it.
- A store that lost a fulfillment it had sent (Medusa deletes its fulfillment when
  createFulfillment times out, and the merchant fulfils again under a new id): a live
  fulfillment of the same order with the same lines and quantities, which the store no
  longer counts, is adopted: it takes the new external_id, and its CJ order stays the only
  one. The store says what it still counts per line (`fulfilled_quantity`); a line split
  into equal parts on purpose is counted, so its second part is a new fulfillment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.db.models import Fulfillment

if TYPE_CHECKING:
    from app.services.fulfillments import NewFulfillment


@dataclass(frozen=True)
class Lines:
    """line_item_id → quantity."""

    quantities: dict[str, int]

    @classmethod
    def of_request(cls, request: NewFulfillment) -> Lines:
        return cls({item.line_item_id: item.quantity for item in request.items})

    @classmethod
    def of_row(cls, fulfillment: Fulfillment) -> Lines:
        return cls({item.line_item_id: item.quantity for item in fulfillment.items})


def same_request(fulfillment: Fulfillment, request: NewFulfillment) -> bool:
    """Whether `fulfillment` is what `request` asks for (order, option, lines)."""
    return (
        fulfillment.order_id == request.order_id
        and fulfillment.option_id == request.option_id
        and Lines.of_row(fulfillment) == Lines.of_request(request)
    )


def forgotten_match(live: Sequence[Fulfillment], request: NewFulfillment) -> Fulfillment | None:
    """The oldest live fulfillment of the request's order that ships exactly the request's
    lines and that the store does not count any more, or None.

    The store counts `fulfilled_quantity` per line; a candidate is forgotten when the
    order's other live fulfillments already cover all of that count."""
    wanted = Lines.of_request(request)
    counted = {item.line_item_id: item.fulfilled_quantity for item in request.items}
    totals: Counter[str] = Counter()
    for fulfillment in live:
        totals.update(Lines.of_row(fulfillment).quantities)
    for candidate in live:
        if candidate.external_id == request.external_id or candidate.option_id != request.option_id:
            continue
        if Lines.of_row(candidate) != wanted:
            continue
        if all(totals[line] - qty >= counted[line] for line, qty in wanted.quantities.items()):
            return candidate
    return None
