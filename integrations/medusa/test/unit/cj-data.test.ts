import assert from "node:assert/strict"
import { describe, it } from "node:test"

import { CjDataUpdate, isCjProvider, mergeCjData } from "../../src/lib/cj-data"

const created = {
  id: "ful_1a",
  status: "created",
  cj_order_id: "2751300401673846784",
  cj_order_number: "ful_1a",
  option_id: "us-standard",
  external_id: "ful_01MEDUSA",
}

function update(values: Record<string, unknown>) {
  return CjDataUpdate.parse({ id: "ful_1a", status: "shipped", updated_at: "2026-12-01T10:00:00Z", ...values })
}

describe("the cj-data body", () => {
  it("needs the service id, a status and when it changed; tracking defaults to none", () => {
    assert.equal(CjDataUpdate.safeParse({ id: "ful_1a" }).success, false)
    assert.equal(CjDataUpdate.safeParse({ id: "ful_1a", status: "failed", updated_at: "yesterday" }).success, false)
    assert.deepEqual(update({}).tracking, [])
  })

  it("takes the service's timestamps with an offset", () => {
    assert.equal(update({ updated_at: "2026-12-01T10:00:00.123456+00:00" }).updated_at, "2026-12-01T10:00:00.123456+00:00")
  })
})

describe("merging into a fulfillment's data", () => {
  it("writes the CJ side and keeps the keys it does not own", () => {
    const merged = mergeCjData(
      { ...created, handled_by: "cj" },
      update({
        status: "shipped",
        cj_status: "SHIPPED",
        logistic_name: "YunExpress",
        tracking: [{ number: "YT1", carrier: "YunExpress", url: "https://t.17track.net/en#nums=YT1" }],
      })
    )
    assert.deepEqual(merged, {
      ...created,
      handled_by: "cj",
      status: "shipped",
      status_reason: null,
      cj_status: "SHIPPED",
      logistic_name: "YunExpress",
      tracking: [{ number: "YT1", carrier: "YunExpress", url: "https://t.17track.net/en#nums=YT1" }],
      updated_at: "2026-12-01T10:00:00Z",
    })
  })

  it("gives a queued fulfillment its CJ order id, and a refused one its status and reason", () => {
    const pending = { ...created, status: "pending", cj_order_id: null }
    assert.equal(mergeCjData(pending, update({ status: "created", cj_order_id: "27513" }))?.cj_order_id, "27513")
    const failed = mergeCjData(pending, update({ status: "failed", status_reason: "Balance is insufficient" }))
    assert.deepEqual([failed?.status, failed?.status_reason, failed?.cj_order_id], ["failed", "Balance is insufficient", null])
  })

  it("ignores a message older than what data holds, and applies an equal or newer one", () => {
    const stored = { ...created, status: "delivered", updated_at: "2026-12-01T12:00:00Z" }
    assert.equal(mergeCjData(stored, update({ status: "shipped", updated_at: "2026-12-01T11:59:59Z" })), undefined)
    assert.equal(mergeCjData(stored, update({ status: "delivered", updated_at: "2026-12-01T12:00:00Z" }))?.status, "delivered")
    assert.equal(mergeCjData(null, update({}))?.status, "shipped")
  })

  it("knows this plugin's provider ids", () => {
    assert.equal(isCjProvider("cj_cj"), true)
    assert.equal(isCjProvider("manual_manual"), false)
    assert.equal(isCjProvider(null), false)
  })
})
