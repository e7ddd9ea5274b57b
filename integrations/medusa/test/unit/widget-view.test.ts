import assert from "node:assert/strict"
import { describe, it } from "node:test"

import type { CjFulfillmentView, ServiceFulfillment } from "../../src/admin/lib/api"
import { cardModel, retryMessage, trackingHref } from "../../src/admin/lib/view"

function view(values: Partial<CjFulfillmentView> = {}): CjFulfillmentView {
  return {
    id: "ful_01MEDUSA",
    provider_id: "cj_cj",
    data: { id: "ful_1a", status: "pending", cj_order_id: null },
    created_at: "2026-12-01T10:00:00Z",
    shipped_at: null,
    delivered_at: null,
    canceled_at: null,
    labels: [],
    service: null,
    events: [],
    ...values,
  }
}

/** The service's view of that fulfillment. */
function live(values: Partial<ServiceFulfillment> & { status: string }): ServiceFulfillment {
  return { id: "ful_1a", external_id: "ful_01MEDUSA", order_id: "order_01", ...values }
}

describe("the widget's card", () => {
  it("prefers the service's live view over Medusa's stored data", () => {
    const card = cardModel(
      view({
        service: live({
          status: "shipped",
          cj_order_id: "27513",
          tracking: [{ number: "YT1", url: "https://t.17track.net/en#nums=YT1" }],
        }),
      })
    )
    assert.deepEqual([card.status, card.cjOrderId, card.live], ["shipped", "27513", true])
    assert.deepEqual(card.tracking.map((t) => t.number), ["YT1"])
    assert.equal(card.canCancel, false)
  })

  it("falls back to Medusa's data when the service gave nothing, and adds Medusa's labels", () => {
    const card = cardModel(
      view({
        data: { id: "ful_1a", status: "failed", status_reason: "Balance is insufficient", cj_order_id: null },
        labels: [{ tracking_number: "YT9", tracking_url: "#" }],
      })
    )
    assert.deepEqual([card.status, card.reason, card.cjOrderId, card.live], ["failed", "Balance is insufficient", null, false])
    assert.deepEqual(card.tracking, [{ number: "YT9", url: "#" }])
    assert.equal(trackingHref(card.tracking[0]), null, "Medusa's '#' is no link")
  })

  it("offers retry only for a queued one the service knows, cancel until it ships", () => {
    const queued = cardModel(view({ service: live({ status: "pending" }) }))
    assert.deepEqual([queued.canRetry, queued.canCancel], [true, true])
    const placed = cardModel(view({ service: live({ status: "unshipped", cj_order_id: "27513" }) }))
    assert.deepEqual([placed.canRetry, placed.canCancel], [false, true])
    const cancelled = cardModel(view({ canceled_at: "2026-12-01T11:00:00Z", service: live({ status: "pending" }) }))
    assert.deepEqual([cancelled.canRetry, cancelled.canCancel], [false, false])
  })

  it("says what a retry did", () => {
    assert.equal(retryMessage({ outcome: "placed", fulfillment: { cj_order_id: "27513" } }), "Placed at CJ: order 27513")
    assert.match(retryMessage({ outcome: "failed", fulfillment: {}, message: "Balance is insufficient" }), /refused.*Balance/)
    assert.match(retryMessage({ outcome: "queued", fulfillment: {} }), /stays queued/)
  })
})
