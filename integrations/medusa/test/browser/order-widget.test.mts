/**
 * The order page widget in a real browser: Debian's Chromium, headless, driven by
 * Playwright (playwright-core, no browser download), opens the built Medusa admin of the
 * store run-store.sh started (MEDUSA_ADMIN=true), logs in, opens an order placed and
 * fulfilled through CJ, and checks what the CJ card shows before and after CJ ships it.
 * Screenshots go to BROWSER_ARTIFACTS (default test-artifacts/browser/<run>, gitignored);
 * the path is printed. Without a store (no STORE_ENV) the suite is skipped.
 */
import assert from "node:assert/strict"
import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { after, before, describe, it } from "node:test"
import { fileURLToPath } from "node:url"

import { chromium, type Browser, type Page } from "playwright-core"

import { readStoreEnv, Store, waitFor } from "./store.mjs"

const env = readStoreEnv()
const here = dirname(fileURLToPath(import.meta.url))
const ARTIFACTS = resolve(
  process.env.BROWSER_ARTIFACTS ?? resolve(here, "../../test-artifacts/browser", new Date().toISOString().replace(/[:.]/g, "-"))
)
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
]

describe("the CJ card on Medusa's order page", { skip: env ? false : "no store (STORE_ENV): run it through run-store.sh" }, () => {
  const store = new Store(env ?? {})
  let browser: Browser
  let page: Page

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    console.log(`browser test artifacts: ${ARTIFACTS}`)
    await store.login()
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS })
    page = await browser.newPage({ viewport: { width: 1440, height: 1100 } })
    page.setDefaultTimeout(60_000)
    await page.goto(`${store.env.MEDUSA_URL}/app/login`)
    await page.locator('input[name="email"]').fill(store.env.ADMIN_EMAIL)
    await page.locator('input[name="password"]').fill(store.env.ADMIN_PASSWORD)
    await page.locator('button[type="submit"]').click()
    await page.waitForURL((url) => !url.pathname.includes("/login"))
  })

  after(async () => {
    await browser?.close()
  })

  async function card(fulfillmentId: string) {
    const found = page.locator(`[data-testid="cj-fulfillment"][data-fulfillment-id="${fulfillmentId}"]`)
    await found.waitFor()
    return found
  }

  it("shows the CJ order id and status of a fulfilled order, then its shipment with tracking", async () => {
    const order = await store.checkout()
    await store.fulfil(order)
    const [fulfillment] = await store.fulfillments(order.id)
    const cjOrderId: string = fulfillment.data.cj_order_id
    assert.ok(cjOrderId, "CJ took the order at once (it is up)")

    await page.goto(`${store.env.MEDUSA_URL}/app/orders/${order.id}`)
    let shown = await card(fulfillment.id)
    assert.equal(await shown.getByTestId("cj-order-id").innerText(), cjOrderId)
    assert.equal(await shown.getByTestId("cj-status").innerText(), "created")
    assert.match(await shown.getByTestId("cj-tracking").innerText(), /none yet/)
    assert.equal(await shown.getByRole("button", { name: "Cancel at CJ" }).count(), 1)
    await page.screenshot({ path: resolve(ARTIFACTS, "1-order-fulfilled-at-cj.png"), fullPage: true })

    const trackNumber = `YT26${Date.now()}`.slice(0, 18)
    await store.sim("POST", `/_sim/orders/${cjOrderId}/advance`, { status: "SHIPPED", track_number: trackNumber })
    await waitFor("Medusa's fulfillment is shipped, its data says so with the tracking", async () => {
      const [now] = await store.fulfillments(order.id)
      return (
        now.shipped_at &&
        now.data.status === "shipped" &&
        (now.data.tracking ?? []).some((t: { number: string }) => t.number === trackNumber)
      )
    })

    await page.reload()
    shown = await card(fulfillment.id)
    await shown.getByTestId("cj-status").getByText("shipped").waitFor()
    assert.equal(await shown.getByTestId("cj-order-id").innerText(), cjOrderId)
    const tracking = shown.getByTestId("cj-tracking")
    assert.match(await tracking.innerText(), new RegExp(trackNumber))
    const link = tracking.getByRole("link", { name: trackNumber })
    assert.equal(await link.count(), 1, "the tracking number links to the carrier's page")
    assert.match((await link.getAttribute("href")) ?? "", /^https?:\/\//)
    assert.equal(await shown.getByRole("button", { name: "Cancel at CJ" }).count(), 0)
    await shown.getByTestId("cj-events").locator("summary").click()
    assert.match(await shown.getByTestId("cj-events").innerText(), /→ shipped/)
    await page.screenshot({ path: resolve(ARTIFACTS, "2-order-shipped.png"), fullPage: true })
  })

  it("shows an order CJ refused after it was queued as failed, with CJ's reason", async () => {
    const order = await store.checkout()
    await store.sim("POST", "/_sim/config", { mode: "down" })
    try {
      await store.fulfil(order)
      // CJ comes back and refuses it (seed 004 §1.1: 1600100 "Param error").
      await store.sim("POST", "/_sim/faults", { endpoint: "createOrderV2", kind: "code", code: 1600100, count: 5 })
    } finally {
      await store.sim("POST", "/_sim/config", { mode: "up" })
    }
    let fulfillmentId = ""
    try {
      fulfillmentId = await waitFor("Medusa's fulfillment data says failed", async () => {
        const [now] = await store.fulfillments(order.id)
        return now?.data?.status === "failed" && now.id
      }, 60)
    } finally {
      await store.sim("DELETE", "/_sim/faults")
    }

    await page.goto(`${store.env.MEDUSA_URL}/app/orders/${order.id}`)
    const shown = await card(fulfillmentId)
    await shown.getByTestId("cj-status").getByText("failed").waitFor()
    assert.match(await shown.getByTestId("cj-reason").innerText(), /Param error/)
    assert.equal(await shown.getByTestId("cj-order-id").innerText(), "not placed at CJ yet")
    await page.screenshot({ path: resolve(ARTIFACTS, "3-order-refused.png"), fullPage: true })
  })
})
