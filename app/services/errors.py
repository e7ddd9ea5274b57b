"""Refusals more than one service raises (each service keeps its own next to its code)."""

from __future__ import annotations

from app.core.errors import NotFound


class FulfillmentNotFound(NotFound):
    description = "No such fulfillment"

    def __init__(self, fulfillment_id: str) -> None:
        super().__init__(f"No fulfillment {fulfillment_id!r}.")
