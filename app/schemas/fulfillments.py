"""API shapes for fulfillments.

Field limits are the ones CJ's createOrderV2 documents (seed 004 §1.1, kept in
`app.cj.translate.CREATE_ORDER_LIMITS`): name, city and province 50, phone 20, zip 20,
address lines 200, email 50; so an address that passes here is not refused by CJ for its
length (the service checks the whole CJ body again before storing anything).
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Annotated, Any

import pycountry
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from app.cj.translate import CREATE_ORDER_LIMITS as CJ
from app.cj.translate import POD_PROPERTIES_LIMIT, pod_properties_text
from app.db.models import Fulfillment, FulfillmentEvent
from app.schemas.rules import MAX_QUANTITY, Metadata, Quantity, StrictInput, id_field, text_field
from app.services.fulfillments import NewFulfillment, NewFulfillmentItem

_PHONE_DIGITS = re.compile(r"\d")
_PHONE_PATTERN = r"^[0-9+()\-. /]*$"
# Empty (none), or something@domain.tld without spaces or control characters.
_EMAIL_PART = r"[^@\s\u0000-\u001f\u007f-\u009f]+"
_EMAIL_PATTERN = rf"^(?:{_EMAIL_PART}@{_EMAIL_PART}\.{_EMAIL_PART})?$"


class ShippingAddress(StrictInput):
    name: Annotated[str, text_field(CJ["shippingCustomerName"], min_length=1)]
    phone: (
        Annotated[
            str,
            Field(
                max_length=CJ["shippingPhone"],
                pattern=_PHONE_PATTERN,
                description="at least 6 digits, and + ( ) - . / spaces; empty: none",
            ),
        ]
        | None
    ) = None
    email: (
        Annotated[
            str,
            Field(max_length=CJ["email"], pattern=_EMAIL_PATTERN, description="an e-mail address"),
        ]
        | None
    ) = None
    address1: Annotated[str, text_field(CJ["shippingAddress"], min_length=1)]
    address2: Annotated[str, text_field(CJ["shippingAddress2"])] | None = None
    city: Annotated[str, text_field(CJ["shippingCity"], min_length=1)]
    province: Annotated[str, text_field(CJ["shippingProvince"])] = ""
    country_code: Annotated[
        str,
        Field(
            min_length=2,
            max_length=2,
            pattern=r"^[A-Za-z]{2}$",
            description="ISO 3166-1 alpha-2, any case; an assigned code (not XX)",
        ),
    ]
    zip: Annotated[str, text_field(CJ["shippingZip"])] | None = None

    @field_validator("country_code")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        code = value.upper()
        if pycountry.countries.get(alpha_2=code) is None:
            raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
        return code

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if not value:
            return None
        if len(_PHONE_DIGITS.findall(value)) < 6:
            raise ValueError("a phone number has at least 6 digits (and + ( ) - . / spaces)")
        return value

    @field_validator("email", "address2", "zip")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def country_name(self) -> str:
        country = pycountry.countries.get(alpha_2=self.country_code)
        return str(country.name) if country is not None else self.country_code


PodLink = Annotated[
    str,
    Field(max_length=400, pattern=r"^https?://[^\s\u0000-\u001f]+$", description="an http(s) URL"),
]


class PodEntry(StrictInput):
    """One entry of CJ's podProperties (seed 004 §1.1), in CJ's own names: POD 2.0 names
    the area (`areaName`, `links`, `type`), POD 3.0 gives the production images (`links`)
    and exactly one rendering (`effectImgs`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    area_name: Annotated[str, text_field(64, min_length=1)] | None = Field(
        default=None, alias="areaName", description="POD 2.0: the print area, e.g. LogoArea"
    )
    links: Annotated[list[PodLink], Field(min_length=1, max_length=10)]
    type: Annotated[str, text_field(8, min_length=1)] | None = Field(
        default=None, description='POD 2.0: CJ\'s area type, e.g. "1"'
    )
    effect_imgs: Annotated[list[PodLink], Field(min_length=1, max_length=1)] | None = Field(
        default=None, alias="effectImgs", description="POD 3.0: the one rendering image"
    )

    @model_validator(mode="after")
    def _pod_version(self) -> PodEntry:
        if self.effect_imgs is None and self.area_name is None:
            raise ValueError("a POD entry needs `areaName` (POD 2.0) or `effectImgs` (POD 3.0)")
        return self

    def to_cj(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


def _pod_fits(entries: list[PodEntry]) -> list[PodEntry]:
    text = pod_properties_text([e.to_cj() for e in entries])
    if text is not None and len(text) > POD_PROPERTIES_LIMIT:
        raise ValueError(
            f"CJ takes at most {POD_PROPERTIES_LIMIT} characters of podProperties as JSON "
            f"(these are {len(text)})"
        )
    return entries


class FulfillmentItemIn(StrictInput):
    """One order line: a `vid`, or a `sku` mapped to one (an unmapped SKU is 422
    `unknown-sku`); at least one of the two."""

    line_item_id: Annotated[str, id_field(255, "The store's line item id:")]
    sku: (
        Annotated[
            str, text_field(128, min_length=1, description="The store's SKU, mapped to a CJ vid:")
        ]
        | None
    ) = None
    vid: Annotated[str, id_field(128, "CJ's variant id:")] | None = None
    quantity: Quantity
    fulfilled_quantity: Annotated[
        StrictInt,
        Field(
            ge=0,
            le=MAX_QUANTITY,
            description=(
                "How much of this line the store already counts as fulfilled by its other "
                "fulfillments (Medusa: the order item's fulfilled_quantity). A live "
                "fulfillment of the same order with the same lines that the store no longer "
                "counts is adopted instead of placing a second CJ order."
            ),
        ),
    ] = 0
    pod_properties: (
        Annotated[list[PodEntry], Field(min_length=1, max_length=10), AfterValidator(_pod_fits)]
        | None
    ) = Field(
        default=None,
        description="Print on demand: CJ's podProperties for this line (sent to CJ as its "
        f"JSON text, at most {POD_PROPERTIES_LIMIT} characters)",
    )

    @model_validator(mode="after")
    def _sku_or_vid(self) -> FulfillmentItemIn:
        if self.sku is None and self.vid is None:
            raise ValueError("each item needs a `sku` or a `vid`")
        return self


class FulfillmentCreate(StrictInput):
    """A fulfillment to place at CJ. The option must exist and ship to the address's
    country (else 422); each `line_item_id` appears once."""

    external_id: Annotated[str, id_field(255, "The store's fulfillment id:")]
    order_id: Annotated[str, id_field(255, "The store's order id:")]
    option_id: Annotated[str, id_field(64, "One of GET /v1/fulfillment-options:")]
    shipping_address: ShippingAddress
    items: Annotated[list[FulfillmentItemIn], Field(min_length=1, max_length=200)]
    metadata: Metadata = None

    @field_validator("items")
    @classmethod
    def _one_line_per_line_item(cls, items: list[FulfillmentItemIn]) -> list[FulfillmentItemIn]:
        seen: set[str] = set()
        for item in items:
            if item.line_item_id in seen:
                raise ValueError(f"line_item_id {item.line_item_id!r} appears twice")
            seen.add(item.line_item_id)
        return items

    def fingerprint(self) -> str:
        """The body's hash: the same key with another body is refused, not replayed."""
        body = self.model_dump(mode="json")
        for item in body["items"]:
            if item["pod_properties"] is None:  # bodies from before POD hash as they did
                del item["pod_properties"]
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_new(self) -> NewFulfillment:
        address = self.shipping_address
        return NewFulfillment(
            external_id=self.external_id,
            order_id=self.order_id,
            option_id=self.option_id,
            country_code=address.country_code,
            shipping_address={
                **address.model_dump(exclude_none=True),
                "country": address.country_name,
            },
            items=[
                NewFulfillmentItem(
                    line_item_id=item.line_item_id,
                    sku=item.sku,
                    vid=item.vid,
                    quantity=item.quantity,
                    fulfilled_quantity=item.fulfilled_quantity,
                    pod_properties=[e.to_cj() for e in item.pod_properties]
                    if item.pod_properties
                    else None,
                )
                for item in self.items
            ],
            metadata=self.metadata,
            fingerprint=self.fingerprint(),
        )


class TrackingRead(BaseModel):
    number: str | None = None
    carrier: str | None = Field(
        default=None, description="the carrier; CJ's last-mile carrier (trackInfo) when known"
    )
    url: str | None = None
    last_mile_number: str | None = Field(
        default=None, description="the last-mile carrier's own number (CJ's lastTrackNumber)"
    )
    problem: str | None = Field(
        default=None, description="`exception` or `returned` when CJ reported one"
    )


class FulfillmentRead(BaseModel):
    id: str
    external_id: str
    order_id: str
    option_id: str
    status: str
    status_reason: str | None = Field(
        default=None,
        description=(
            "Why the status is what it is: for `failed`, CJ's refusal or why CJ never took "
            "the order; for an order CJ intercepted, CJ's reasons; for an order CJ gave no "
            "id yet (non-CJ SKUs), that it comes with the ORDER webhook."
        ),
    )
    cj_order_id: str | None
    cj_order_number: str
    dispute_id: str | None = Field(
        default=None, description="The CJ refund dispute opened to cancel a paid order."
    )
    dispute_status: str | None = Field(
        default=None,
        description=(
            "Where that dispute stands: `requested` (CJ has it, its id is not known yet), "
            "`open`, `refunded` (the fulfillment is cancelled), `rejected` or `reissued` "
            "(not cancelled: the order ships), `unanswered` (CJ did not decide within "
            "DISPUTE_GIVE_UP_SECONDS: no longer followed, see MyCJ)."
        ),
    )
    payment_retry_at: datetime | None = Field(
        default=None,
        description=(
            "CJ_PAY_TYPE=balance: when the balance payment that could not be made yet is "
            "tried again (null: paid, not due, or given up; `status_reason` says why)."
        ),
    )
    tracking: list[TrackingRead]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, fulfillment: Fulfillment) -> FulfillmentRead:
        return cls(
            id=fulfillment.id,
            external_id=fulfillment.external_id,
            order_id=fulfillment.order_id,
            option_id=fulfillment.option_id,
            status=fulfillment.status,
            status_reason=fulfillment.status_reason,
            cj_order_id=fulfillment.cj_order_id,
            cj_order_number=fulfillment.cj_order_number,
            dispute_id=fulfillment.dispute_id,
            dispute_status=fulfillment.dispute_status,
            payment_retry_at=fulfillment.payment_retry_at,
            tracking=[TrackingRead.model_validate(t) for t in fulfillment.tracking or []],
            created_at=fulfillment.created_at,
            updated_at=fulfillment.updated_at,
        )


class FulfillmentList(BaseModel):
    fulfillments: list[FulfillmentRead]


class EventRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    source: str
    from_status: str | None = Field(serialization_alias="from")
    to_status: str = Field(serialization_alias="to")
    at: datetime
    detail: dict[str, Any] | None = None

    @classmethod
    def of(cls, event: FulfillmentEvent) -> EventRead:
        return cls(
            source=event.source,
            from_status=event.from_status,
            to_status=event.to_status,
            at=event.created_at,
            detail=event.detail,
        )


class EventList(BaseModel):
    events: list[EventRead]
