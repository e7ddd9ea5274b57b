"""PRODUCT, VARIANT and STOCK webhook messages, sent when the control API changes the
catalogue (CJ's webhook page: PRODUCT `{pid, productStatus, fields, …}`, VARIANT
`{vid, variantStatus?, fields, …}`; API_FACTS §3.6: STOCK `params` maps a vid to its
warehouses, messageType INCREASE or DECREASE as seen in production).

STOCK goes to the accounts' `stock` callbacks, PRODUCT and VARIANT to their `product`
ones. CJ reportedly sends these only for products an account subscribed to
(`webhook/product/subscribe`, API_FACTS §3.1 [C-2]); the simulator does not model the
subscription: every account with the callback hears every change.
"""

from __future__ import annotations

import uuid
from typing import Any

from cjsim import products
from cjsim.catalog import Variant

STOCK_TOPIC = "stock"
PRODUCT_TOPIC = "product"
ON_SALE, OFF_SALE = 3, 5  # productStatus (CJ's product status table)


def _message(kind: str, message_type: str, open_id: int, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": uuid.uuid4().hex,
        "type": kind,
        "messageType": message_type,
        "openId": open_id,
        "params": params,
    }


def stock_message(variant: Variant, stock: dict[str, int], before: int, after: int,
                  open_id: int) -> dict[str, Any]:  # fmt: skip
    rows = [
        {"vid": r["vid"], "areaId": r["areaId"], "areaEn": r["areaEn"],
         "countryCode": r["countryCode"], "storageNum": r["storageNum"]}
        for r in products.stock_rows(variant.vid, stock)
    ]  # fmt: skip
    kind = "INCREASE" if after > before else "DECREASE"
    return _message("STOCK", kind, open_id, {variant.vid: rows})


def listing_message(
    product: products.Product, variant: Variant | None, listed: bool, open_id: int
) -> dict[str, Any]:
    if variant is None:
        params = {"pid": product.pid, "productNameEn": product.name,
                  "productSku": product.sku, "productStatus": ON_SALE if listed else OFF_SALE,
                  "fields": ["productStatus"]}  # fmt: skip
        return _message("PRODUCT", "UPDATE", open_id, params)
    params = {"vid": variant.vid, "pid": product.pid, "variantSku": variant.sku,
              "variantName": variant.name, "variantStatus": ON_SALE if listed else OFF_SALE,
              "fields": ["variantStatus"]}  # fmt: skip
    return _message("VARIANT", "UPDATE" if listed else "DELETE", open_id, params)
