import assert from "node:assert/strict"
import { after, before, beforeEach, describe, it } from "node:test"

import { MedusaError, Modules } from "@medusajs/framework/utils"
import type { CreateShippingOptionDTO } from "@medusajs/framework/types"

import providerModule, { CjFulfillmentProviderService, MANUAL_RETURN_NOTE } from "../../src/providers/cj/index"
import {
  API_KEY,
  OPTION_DATA,
  captureLogger,
  cartContext,
  draftOrderContext,
  fulfillment,
  fulfillmentItems,
  fulfillmentResponse,
  makeProvider,
  order,
  orderContext,
  validateContext,
} from "../support/fixtures"
import { closedPort, problem, serviceProblem, startStub, type Stub } from "../support/stub-server"

function medusaError(type: string, message?: string | RegExp, code?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof MedusaError, `expected a MedusaError, got ${String(err)}`)
    assert.equal(err.type, type, `error type (message: ${err.message})`)
    if (code !== undefined) {
      assert.equal(err.code, code, `error code (message: ${err.message})`)
    }
    if (typeof message === "string") {
      assert.equal(err.message, message)
    } else if (message) {
      assert.match(err.message, message)
    }
    return true
  }
}

const OPTIONS_BODY = {
  options: [
    { ...OPTION_DATA },
    { id: "us-expedited", name: "US Expedited", from_country: "US", destinations: ["US"], eta_days: { min: 3, max: 4 }, calculated: true },
    { id: "flat-only", from_country: "CN", destinations: ["CA"], calculated: false },
  ],
}

function rate(overrides: Record<string, unknown> = {}) {
  return {
    option_id: "us-standard",
    amount: "12.34",
    currency: "USD",
    source: "live",
    logistic_name: "USPS+",
    eta_days: { min: 5, max: 7 },
    expires_at: "2026-01-01T00:15:00Z",
    ...overrides,
  }
}

describe("medusa-fulfillment-cj provider", () => {
  let stub: Stub

  before(async () => {
    stub = await startStub()
  })
  after(async () => {
    await stub.close()
  })
  beforeEach(() => {
    stub.routes({})
  })

  describe("module export and options", () => {
    it("exports a Fulfillment Module provider whose service has identifier 'cj'", () => {
      assert.equal(providerModule.module, Modules.FULFILLMENT)
      assert.deepEqual(providerModule.services, [CjFulfillmentProviderService])
      assert.equal(CjFulfillmentProviderService.identifier, "cj")
      const { provider } = makeProvider(stub.url)
      assert.equal(provider.getIdentifier(), "cj")
    })

    it("rejects missing baseUrl/apiKey, bad timeouts and zero fallbacks", () => {
      const bad: Record<string, unknown>[] = [
        { apiKey: "k" },
        { baseUrl: "http://x" },
        { baseUrl: "not a url", apiKey: "k" },
        { baseUrl: "ftp://x", apiKey: "k" },
        { baseUrl: "http://x", apiKey: "k", timeoutMs: 0 },
        { baseUrl: "http://x", apiKey: "k", rateTimeoutMs: "100" },
        { baseUrl: "http://x", apiKey: "k", fallbackAmounts: { "us-standard": 0 } },
        { baseUrl: "http://x", apiKey: "k", fallbackAmounts: { "us-standard": { usd: "-1" } } },
        { baseUrl: "http://x", apiKey: "k", fallbackAmounts: { "us-standard": "abc" } },
        // one amount for every currency would charge 7.95 as ¥7.95 on a JPY cart
        { baseUrl: "http://x", apiKey: "k", fallbackAmounts: { "us-standard": 7.95 } },
      ]
      for (const opts of bad) {
        assert.throws(() => CjFulfillmentProviderService.validateOptions(opts), medusaError(MedusaError.Types.INVALID_DATA), JSON.stringify(opts))
      }
      assert.doesNotThrow(() =>
        CjFulfillmentProviderService.validateOptions({
          baseUrl: "http://x",
          apiKey: "k",
          fallbackAmounts: { "us-standard": { usd: 7.95 }, "us-expedited": { usd: "14.95", cad: 20 } },
        })
      )
    })

    it("joins paths onto a baseUrl with a path prefix and a trailing slash", async () => {
      stub.routes({ "GET /prefix/v1/fulfillment-options": { status: 200, body: OPTIONS_BODY } })
      const { provider } = makeProvider(`${stub.url}/prefix/`)
      const options = await provider.getFulfillmentOptions()
      assert.equal(options.length, 3)
      assert.equal(stub.requests[0].path, "/prefix/v1/fulfillment-options")
    })
  })

  describe("getFulfillmentOptions", () => {
    it("GETs /v1/fulfillment-options with the Bearer key and returns Medusa options with id and name", async () => {
      stub.routes({ "GET /v1/fulfillment-options": { status: 200, body: OPTIONS_BODY } })
      const { provider } = makeProvider(stub.url)
      const options = await provider.getFulfillmentOptions()

      assert.equal(stub.requests.length, 1)
      const req = stub.requests[0]
      assert.equal(req.method, "GET")
      assert.equal(req.path, "/v1/fulfillment-options")
      assert.equal(req.headers.authorization, `Bearer ${API_KEY}`)
      assert.deepEqual(
        options.map((o) => [o.id, o.name, o.is_return]),
        [
          ["us-standard", "US Standard", false],
          ["us-expedited", "US Expedited", false],
          ["flat-only", "flat-only", false],
        ]
      )
      // everything the service said is kept: it becomes ShippingOption.data
      assert.deepEqual(options[0].destinations, ["US"])
      assert.deepEqual(options[0].eta_days, { min: 5, max: 7 })
    })

    it("turns a 401 into a MedusaError that points at the apiKey option", async () => {
      stub.routes({ "GET /v1/fulfillment-options": problem(401, "Missing or wrong API key", "Unauthorized") })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(provider.getFulfillmentOptions(), medusaError(MedusaError.Types.UNEXPECTED_STATE, /apiKey/))
    })

    it("rejects an answer without an options list", async () => {
      stub.routes({ "GET /v1/fulfillment-options": { status: 200, body: { nope: [] } } })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(provider.getFulfillmentOptions(), medusaError(MedusaError.Types.UNEXPECTED_STATE, /options/))
    })
  })

  describe("validateOption", () => {
    it("POSTs option_id and data to /v1/fulfillment-options/validate and returns valid", async () => {
      stub.routes({
        "POST /v1/fulfillment-options/validate": { status: 200, body: { valid: true, option: OPTION_DATA } },
      })
      const { provider } = makeProvider(stub.url)
      assert.equal(await provider.validateOption({ ...OPTION_DATA }), true)
      const req = stub.requests[0]
      assert.equal(req.path, "/v1/fulfillment-options/validate")
      assert.equal(req.headers.authorization, `Bearer ${API_KEY}`)
      assert.equal(req.headers["content-type"], "application/json")
      assert.deepEqual(req.body, { option_id: "us-standard", data: OPTION_DATA })
    })

    it("returns false on 422 and without an id (no call)", async () => {
      stub.routes({ "POST /v1/fulfillment-options/validate": problem(422, "Unknown fulfillment option: zz") })
      const { provider } = makeProvider(stub.url)
      assert.equal(await provider.validateOption({ id: "zz" }), false)
      assert.equal(await provider.validateOption({ name: "no id" }), false)
      assert.equal(stub.requests.length, 1)
    })

    it("throws when the service fails (not a silent false)", async () => {
      stub.routes({ "POST /v1/fulfillment-options/validate": problem(500, "boom") })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(provider.validateOption({ id: "us-standard" }), medusaError(MedusaError.Types.UNEXPECTED_STATE, /HTTP 500/))
    })
  })

  describe("canCalculate", () => {
    const so = (data: Record<string, unknown> | null) =>
      ({
        name: "CJ",
        price_type: "calculated",
        service_zone_id: "serzo_1",
        shipping_profile_id: "sp_1",
        provider_id: "cj_cj",
        type: "default",
        data,
      }) as CreateShippingOptionDTO

    it("is true for our calculated options and false otherwise", async () => {
      stub.routes({ "GET /v1/fulfillment-options": { status: 200, body: OPTIONS_BODY } })
      const { provider } = makeProvider(stub.url)
      assert.equal(await provider.canCalculate(so({ id: "us-standard" })), true)
      assert.equal(await provider.canCalculate(so({ id: "us-expedited" })), true)
      assert.equal(await provider.canCalculate(so({ id: "flat-only" })), false)
      assert.equal(await provider.canCalculate(so({ id: "not-ours" })), false)
      assert.equal(await provider.canCalculate(so({ id: 7 })), false)
      assert.equal(stub.requests.length, 4)
    })

    it("is true for an update that sends no data (the dashboard's edit form), without a call", async () => {
      const { provider } = makeProvider(stub.url)
      const edit = { id: "so_1", name: "CJ renamed", price_type: "calculated", provider_id: "cj_cj" }
      assert.equal(await provider.canCalculate(edit as unknown as CreateShippingOptionDTO), true)
      assert.equal(await provider.canCalculate(so(null)), true)
      assert.equal(stub.requests.length, 0)
    })
  })

  describe("validateFulfillmentData", () => {
    it("stores the option id in the shipping method data without an HTTP call", async () => {
      const { provider } = makeProvider(stub.url)
      const data = await provider.validateFulfillmentData({ ...OPTION_DATA }, { note: "x", option_id: "forged" }, validateContext("us"))
      assert.deepEqual(data, { note: "x", option_id: "us-standard", option_name: "US Standard" })
      assert.equal(stub.requests.length, 0)
    })

    it("refuses a destination the option does not serve", async () => {
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.validateFulfillmentData({ ...OPTION_DATA }, {}, validateContext("ca")),
        medusaError(MedusaError.Types.NOT_ALLOWED, /does not deliver to CA/)
      )
    })

    it("refuses option data without an id", async () => {
      const { provider } = makeProvider(stub.url)
      await assert.rejects(provider.validateFulfillmentData({}, {}, validateContext()), medusaError(MedusaError.Types.INVALID_DATA))
    })
  })

  describe("calculatePrice", () => {
    it("POSTs /v1/rates and returns the amount in major units, tax exclusive", async () => {
      stub.routes({ "POST /v1/rates": { status: 200, body: { rates: [rate()] } } })
      const { provider } = makeProvider(stub.url)
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext())

      assert.deepEqual(price, { calculated_amount: 12.34, is_calculated_price_tax_inclusive: false })
      assert.equal(stub.requests.length, 1)
      const req = stub.requests[0]
      assert.equal(req.method, "POST")
      assert.equal(req.path, "/v1/rates")
      assert.equal(req.headers.authorization, `Bearer ${API_KEY}`)
      assert.deepEqual(req.body, {
        option_id: "us-standard",
        destination: { country_code: "US", province: "IL", city: "Springfield", zip: "62701" },
        items: [
          { sku: "MUG-RED", quantity: 2 },
          { sku: "TEE-M", quantity: 1 },
        ],
        currency: "USD",
      })
    })

    it("picks the rate of the requested option and accepts a lowercase currency back", async () => {
      stub.routes({
        "POST /v1/rates": {
          status: 200,
          body: { rates: [rate({ option_id: "us-expedited", amount: "20.00" }), rate({ amount: "7.5", currency: "usd" })] },
        },
      })
      const { provider } = makeProvider(stub.url)
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext())
      assert.equal(price.calculated_amount, 7.5)
    })

    it("prices in the cart's currency and omits address fields the cart lacks", async () => {
      stub.routes({ "POST /v1/rates": { status: 200, body: { rates: [rate({ amount: "17.05", currency: "CAD" })] } } })
      const { provider } = makeProvider(stub.url)
      const ctx = cartContext({
        currency_code: "cad",
        shipping_address: { id: "a", country_code: "ca", created_at: new Date(), updated_at: new Date() },
      })
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, ctx)
      assert.equal(price.calculated_amount, 17.05)
      const body = stub.requests[0].body as Record<string, unknown>
      assert.equal(body.currency, "CAD")
      assert.deepEqual(body.destination, { country_code: "CA" })
    })

    it("returns 0 only when the service quotes 0.00 (a free option)", async () => {
      stub.routes({ "POST /v1/rates": { status: 200, body: { rates: [rate({ amount: "0.00" })] } } })
      const { provider } = makeProvider(stub.url)
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext())
      assert.equal(price.calculated_amount, 0)
    })

    it("turns destination-not-served into NOT_ALLOWED naming the country, without the fallback", async () => {
      const detail = "Option 'us-standard' does not ship to CA; it serves US."
      stub.routes({ "POST /v1/rates": serviceProblem(422, "destination-not-served", detail, { country_code: "CA" }) })
      const { provider } = makeProvider(stub.url, { fallbackAmounts: { "us-standard": { usd: 9.99 } } })
      // a 4xx is an answer, not an outage: the fallback is NOT used
      await assert.rejects(
        provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext()),
        medusaError(MedusaError.Types.NOT_ALLOWED, `CJ shipping does not deliver to CA: ${detail}`, "destination-not-served")
      )
    })

    it("names the unmapped SKUs of an unknown-sku answer", async () => {
      stub.routes({
        "POST /v1/rates": serviceProblem(
          422,
          "unknown-sku",
          "Unknown SKU(s): MUG-RED, TEE-M; map them with `cj-fulfillment skus import` or send `vid`",
          { unknown_skus: ["MUG-RED", "TEE-M"] }
        ),
      })
      const { provider } = makeProvider(stub.url, { fallbackAmounts: { "us-standard": { usd: 9.99 } } })
      await assert.rejects(
        provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext()),
        medusaError(
          MedusaError.Types.INVALID_DATA,
          "CJ cannot ship MUG-RED, TEE-M yet: no CJ variant is mapped to these SKUs. " +
            "Import the SKU mappings into cj-fulfillment (`cj-fulfillment skus import`).",
          "unknown-sku"
        )
      )
    })

    it("turns cannot-ship, unknown-currency and unknown-option into clear errors", async () => {
      const { provider } = makeProvider(stub.url, { fallbackAmounts: { "us-standard": { usd: 9.99 } } })
      const cases: [ReturnType<typeof serviceProblem>, string, string][] = [
        [
          serviceProblem(422, "cannot-ship", "Option 'us-standard' cannot ship this cart: CJ offers none of its logistics (USPS+) for it; CJ offers nothing.", { option_id: "us-standard" }),
          MedusaError.Types.NOT_ALLOWED,
          "CJ cannot ship this cart: Option 'us-standard' cannot ship this cart: CJ offers none of its logistics (USPS+) for it; CJ offers nothing.",
        ],
        [
          serviceProblem(422, "unknown-currency", "No exchange rate for currency CHF; the options file has: CAD, USD. Add it under `exchange_rates`.", { currency: "CHF" }),
          MedusaError.Types.INVALID_DATA,
          "CJ shipping cannot be priced in CHF: No exchange rate for currency CHF; the options file has: CAD, USD. Add it under `exchange_rates`.",
        ],
        [
          serviceProblem(422, "unknown-option", "Unknown option_id 'us-standard'; known options: ca-standard.", { option_id: "us-standard" }),
          MedusaError.Types.INVALID_DATA,
          "Unknown option_id 'us-standard'; known options: ca-standard. Recreate the shipping option from the CJ provider's fulfillment options.",
        ],
      ]
      for (const [reply, type, message] of cases) {
        stub.routes({ "POST /v1/rates": reply })
        const slug = String((reply.body as { type: string }).type).split("/").pop()
        await assert.rejects(provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext()), medusaError(type, message, slug))
      }
    })

    it("prices from every source (live, cache, stale, static) and parses decimal strings exactly", async () => {
      const { provider, lines } = makeProvider(stub.url)
      const cases: [string, string, string, number][] = [
        ["live", "12.34", "usd", 12.34],
        ["cache", "1234.50", "usd", 1234.5],
        ["stale", "7.00", "usd", 7],
        ["static", "1500", "jpy", 1500],
        ["static", "3.125", "kwd", 3.125],
      ]
      for (const [source, amount, currency, expected] of cases) {
        stub.routes({ "POST /v1/rates": { status: 200, body: { rates: [rate({ source, amount, currency: currency.toUpperCase() })] } } })
        const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext({ currency_code: currency }))
        assert.deepEqual(price, { calculated_amount: expected, is_calculated_price_tax_inclusive: false }, `${source} ${amount}`)
      }
      assert.equal(lines.filter((l) => /priced from a (stale|static) rate/.test(l.message)).length, 3)
    })

    it("uses the problem title and field errors when detail is empty", async () => {
      stub.routes({
        "POST /v1/rates": problem(422, "", "Invalid request", {
          errors: [{ field: "items.0.sku", message: "unknown SKU MUG-RED", type: "value_error" }],
        }),
      })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext()),
        medusaError(MedusaError.Types.INVALID_DATA, "Invalid request: items.0.sku: unknown SKU MUG-RED")
      )
    })

    it("gives up after rateTimeoutMs and uses the fallback amount for the option", async () => {
      stub.routes({ "POST /v1/rates": { status: 200, body: { rates: [rate()] }, delayMs: 2000 } })
      const { provider, lines } = makeProvider(stub.url, { rateTimeoutMs: 150, fallbackAmounts: { "us-standard": { usd: "7.95" } } })
      const started = Date.now()
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext())
      const elapsed = Date.now() - started
      assert.deepEqual(price, { calculated_amount: 7.95, is_calculated_price_tax_inclusive: false })
      assert.ok(elapsed < 1000, `took ${elapsed} ms`)
      assert.ok(lines.some((l) => l.level === "warn" && /fallback/.test(l.message) && /150 ms/.test(l.message)))
    })

    it("throws on a timeout when the option has no fallback (never 0)", async () => {
      stub.routes({ "POST /v1/rates": { status: 200, body: { rates: [rate()] }, delayMs: 2000 } })
      const { provider } = makeProvider(stub.url, { rateTimeoutMs: 150, fallbackAmounts: { "us-expedited": { usd: 14.95 } } })
      await assert.rejects(
        provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext()),
        medusaError(MedusaError.Types.UNEXPECTED_STATE, /did not answer POST \/v1\/rates within 150 ms/)
      )
    })

    it("uses the per-currency fallback when the service is unreachable", async () => {
      const port = await closedPort()
      const { provider } = makeProvider(`http://127.0.0.1:${port}`, {
        fallbackAmounts: { "us-standard": { usd: 7.95, cad: "10.90" } },
      })
      const cad = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext({ currency_code: "cad" }))
      assert.equal(cad.calculated_amount, 10.9)
      await assert.rejects(
        provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext({ currency_code: "eur" })),
        medusaError(MedusaError.Types.UNEXPECTED_STATE, /unreachable/)
      )
    })

    it("uses the fallback on a 5xx answer", async () => {
      stub.routes({ "POST /v1/rates": problem(503, "database unavailable") })
      const { provider } = makeProvider(stub.url, { fallbackAmounts: { "us-standard": { usd: 8 } } })
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext())
      assert.equal(price.calculated_amount, 8)
    })

    it("rejects answers that break the contract instead of guessing a price", async () => {
      const { provider } = makeProvider(stub.url, { fallbackAmounts: { "us-standard": { usd: 8 } } })
      const cases: [unknown, RegExp][] = [
        [{ rates: [rate({ currency: "EUR" })] }, /in EUR, not in the cart's currency usd/],
        [{ rates: [rate({ amount: 12.34 })] }, /invalid amount/],
        [{ rates: [rate({ amount: "-1.00" })] }, /invalid amount/],
        [{ rates: [rate({ option_id: "other" })] }, /no rate for option us-standard/],
        [{}, /no rate/],
      ]
      for (const [body, message] of cases) {
        stub.routes({ "POST /v1/rates": { status: 200, body } })
        await assert.rejects(provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext()), medusaError(MedusaError.Types.UNEXPECTED_STATE, message))
      }
    })

    it("refuses to price without an address, currency, items or SKU (no call)", async () => {
      const { provider } = makeProvider(stub.url)
      const cases = [
        orderContext({ shipping_address: null }),
        orderContext({ currency_code: undefined }),
        orderContext({ items: [] }),
        orderContext({ items: [{ id: "x", title: "No sku", quantity: 1, requires_shipping: true }] }),
      ]
      for (const ctx of cases) {
        await assert.rejects(provider.calculatePrice({ ...OPTION_DATA }, {}, ctx), medusaError(MedusaError.Types.INVALID_DATA))
      }
      await assert.rejects(provider.calculatePrice({}, {}, orderContext()), medusaError(MedusaError.Types.INVALID_DATA))
      assert.equal(stub.requests.length, 0)
    })
  })

  describe("calculatePrice in every flow Medusa prices", () => {
    const ratesRoute = () => ({ "POST /v1/rates": { status: 200, body: { rates: [rate({ currency: "EUR", amount: "9.10" })] } } })

    it("never blocks a cart: what CJ cannot price leaves the option without an amount", async () => {
      const { provider, lines } = makeProvider(stub.url)
      const unknownSku = serviceProblem(422, "unknown-sku", "Unknown SKU(s): NEW-1", { unknown_skus: ["NEW-1"] })
      const cases: [Parameters<typeof stub.routes>[0] | undefined, ReturnType<typeof cartContext>][] = [
        [{ "POST /v1/rates": unknownSku }, cartContext()],
        [{ "POST /v1/rates": serviceProblem(422, "destination-not-served", "no", { country_code: "CA" }) }, cartContext()],
        [{ "POST /v1/rates": problem(503, "CJ down") }, cartContext()],
        [undefined, cartContext({ items: [{ id: "cali_9", title: "Gift card", quantity: 1, requires_shipping: false }] })],
        [undefined, cartContext({ items: [{ id: "cali_9", title: "No sku", quantity: 1, requires_shipping: true }] })],
        [undefined, cartContext({ shipping_address: null })],
      ]
      for (const [routes, ctx] of cases) {
        stub.routes(routes ?? {})
        const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, ctx)
        assert.equal(price.calculated_amount, undefined, JSON.stringify(routes))
      }
      const price = await provider.calculatePrice({}, {}, cartContext())
      assert.equal(price.calculated_amount, undefined)
      assert.equal(lines.filter((l) => l.level === "warn" && /Medusa drops it from the cart/.test(l.message)).length, 7)
      assert.ok(lines.some((l) => /NEW-1/.test(l.message)))
    })

    it("a fallback applies only in a currency it names", async () => {
      stub.routes({ "POST /v1/rates": problem(503, "CJ down") })
      const { provider } = makeProvider(stub.url, { fallbackAmounts: { "us-standard": { usd: 7.95 } } })
      const usd = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext())
      const jpy = await provider.calculatePrice({ ...OPTION_DATA }, {}, cartContext({ currency_code: "jpy" }))
      assert.equal(usd.calculated_amount, 7.95)
      assert.equal(jpy.calculated_amount, undefined)
    })

    it("prices a claim's own items (claim_items by order line id) in the hook's currency", async () => {
      stub.routes(ratesRoute())
      const { provider } = makeProvider(stub.url)
      const ctx = orderContext({ currency_code: "eur", claim_id: "claim_1", claim_items: [{ id: "ordli_2", quantity: 1 }] })
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, ctx)
      assert.equal(price.calculated_amount, 9.1)
      const sent = stub.requests[0].body as { items: unknown; currency: string }
      assert.deepEqual(sent.items, [{ sku: "TEE-M", quantity: 1 }])
      assert.equal(sent.currency, "EUR")
    })

    it("prices exchange and return items the same way, and names an item the order lacks", async () => {
      stub.routes(ratesRoute())
      const { provider } = makeProvider(stub.url)
      for (const key of ["exchange_items", "return_items"]) {
        await provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext({ currency_code: "eur", [key]: [{ id: "ordli_1", quantity: 1 }] }))
      }
      assert.deepEqual(
        stub.requests.map((r) => (r.body as { items: unknown }).items),
        [[{ sku: "MUG-RED", quantity: 1 }], [{ sku: "MUG-RED", quantity: 1 }]]
      )
      await assert.rejects(
        provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext({ claim_items: [{ id: "ordli_new", quantity: 1 }] })),
        medusaError(MedusaError.Types.INVALID_DATA, /claim_items names ordli_new/)
      )
    })

    it("prices a claim's new lines (the hook's cj_items) at the order's address (the hook's cj_shipping_address)", async () => {
      // fetchShippingOptionForOrderWorkflow's order: `shipping_address` without fields, and
      // only the lines the order had; the claim's outbound line is new.
      stub.routes(ratesRoute())
      const { provider } = makeProvider(stub.url)
      const address = { id: "oaddr_01", country_code: "ca", city: "Toronto", province: "ON", postal_code: "M5V 2T6" }
      const ctx = orderContext({
        currency_code: "eur",
        shipping_address: { id: "oaddr_01" },
        claim_id: "claim_1",
        claim_items: [{ id: "ordli_new", quantity: 2 }],
        cj_shipping_address: address,
        cj_items: [{ id: "ordli_new", title: "Tee", variant_sku: "TEE-M", requires_shipping: true }],
      })
      await provider.calculatePrice({ ...OPTION_DATA }, {}, ctx)
      const sent = stub.requests[0].body as { items: unknown; destination: unknown; currency: string }
      assert.deepEqual(sent.items, [{ sku: "TEE-M", quantity: 2 }])
      assert.deepEqual(sent.destination, { country_code: "CA", province: "ON", city: "Toronto", zip: "M5V 2T6" })
    })

    it("prices a draft order's items of variants without managed inventory (requires_shipping false, with a profile)", async () => {
      stub.routes(ratesRoute())
      const { provider } = makeProvider(stub.url)
      const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, draftOrderContext())
      assert.equal(price.calculated_amount, 9.1)
      assert.deepEqual((stub.requests[0].body as { items: unknown }).items, [{ sku: "MUG-RED", quantity: 3 }])
    })

    it("takes the currency from the order or region when the context has none of its own", async () => {
      const { provider } = makeProvider(stub.url)
      for (const extra of [{ order: { currency_code: "eur" } }, { region: { currency_code: "eur" } }]) {
        stub.routes(ratesRoute())
        const price = await provider.calculatePrice({ ...OPTION_DATA }, {}, orderContext({ currency_code: undefined, ...extra }))
        assert.equal(price.calculated_amount, 9.1)
      }
      await assert.rejects(
        provider.calculatePrice({ ...OPTION_DATA }, {}, draftOrderContext({ currency_code: undefined })),
        medusaError(MedusaError.Types.INVALID_DATA, /no currency.*setCalculatedShippingPricingContext/)
      )
    })
  })

  describe("createFulfillment", () => {
    const methodData = { option_id: "us-standard", option_name: "US Standard" }

    it("POSTs /v1/fulfillments with Idempotency-Key = Medusa's fulfillment id and maps the answer", async () => {
      stub.routes({
        "POST /v1/fulfillments": {
          status: 201,
          body: fulfillmentResponse({
            tracking: [
              { number: "YT123", carrier: "USPS", url: "https://t.example/YT123" },
              { number: "", carrier: null, url: null },
              { number: "YT456", carrier: "USPS", url: null },
            ],
          }),
        },
      })
      const { provider } = makeProvider(stub.url)
      const result = await provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment())

      assert.equal(stub.requests.length, 1)
      const req = stub.requests[0]
      assert.equal(req.method, "POST")
      assert.equal(req.path, "/v1/fulfillments")
      assert.equal(req.headers["idempotency-key"], "ful_01TEST")
      assert.equal(req.headers.authorization, `Bearer ${API_KEY}`)
      assert.deepEqual(req.body, {
        external_id: "ful_01TEST",
        order_id: "order_01",
        option_id: "us-standard",
        shipping_address: {
          name: "Ada Lovelace",
          phone: "+1 555 0100",
          email: "ada@example.com",
          address1: "1 Main St",
          address2: "Apt 2",
          city: "Springfield",
          province: "IL",
          country_code: "US",
          zip: "62701",
        },
        items: [
          { line_item_id: "ordli_1", sku: "MUG-RED", quantity: 2, fulfilled_quantity: 0 },
          { line_item_id: "ordli_2", sku: "TEE-M", quantity: 1, fulfilled_quantity: 0 },
        ],
      })
      assert.deepEqual(result.data, {
        id: "cjf_01",
        status: "created",
        cj_order_id: "2101234567890123456",
        cj_order_number: "CJ-ful_01TEST",
        option_id: "us-standard",
        external_id: "ful_01TEST",
      })
      assert.deepEqual(result.labels, [
        { tracking_number: "YT123", tracking_url: "https://t.example/YT123", label_url: "" },
        { tracking_number: "YT456", tracking_url: "", label_url: "" },
      ])
    })

    it("treats 202 (queued) as success with no labels yet", async () => {
      stub.routes({
        "POST /v1/fulfillments": { status: 202, body: fulfillmentResponse({ status: "pending", cj_order_id: null, cj_order_number: null }) },
      })
      const { provider, lines } = makeProvider(stub.url)
      const result = await provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment())
      assert.equal(result.data.status, "pending")
      assert.equal(result.data.cj_order_id, null)
      assert.deepEqual(result.labels, [])
      assert.ok(lines.some((l) => l.level === "info" && /queued/.test(l.message)))
    })

    it("uses the delivery address override and falls back to the customer's email", async () => {
      stub.routes({ "POST /v1/fulfillments": { status: 201, body: fulfillmentResponse() } })
      const { provider } = makeProvider(stub.url)
      const f = fulfillment()
      const delivery = { ...f.delivery_address!, first_name: "Bob", last_name: null, address_2: null, phone: null, city: "Chicago" }
      await provider.createFulfillment(
        methodData,
        fulfillmentItems(),
        order({ email: undefined, customer: { email: "bob@example.com" }, shipping_address: undefined }),
        fulfillment({ delivery_address: delivery })
      )
      const body = stub.requests[0].body as { shipping_address: Record<string, unknown> }
      assert.deepEqual(body.shipping_address, {
        name: "Bob",
        email: "bob@example.com",
        address1: "1 Main St",
        city: "Chicago",
        province: "IL",
        country_code: "US",
        zip: "62701",
      })
    })

    it("folds a kit's per-inventory-item rows back into one line with the variant SKU", async () => {
      stub.routes({ "POST /v1/fulfillments": { status: 201, body: fulfillmentResponse() } })
      const { provider } = makeProvider(stub.url)
      const kitOrder = order({
        items: [
          {
            id: "ordli_kit",
            title: "Kit",
            variant_sku: "KIT-1",
            quantity: 2,
            variant: {
              sku: "KIT-1",
              inventory_items: [
                { inventory_item_id: "iitem_a", required_quantity: 3, inventory: { id: "iitem_a" } },
                { inventory_item_id: "iitem_b", required_quantity: 1, inventory: { id: "iitem_b" } },
              ],
            },
          },
        ],
      })
      const items = [
        { id: "f1", title: "Part A", line_item_id: "ordli_kit", sku: "PART-A", quantity: 6, inventory_item_id: "iitem_a" },
        { id: "f2", title: "Part B", line_item_id: "ordli_kit", sku: "PART-B", quantity: 2, inventory_item_id: "iitem_b" },
      ]
      await provider.createFulfillment(methodData, items, kitOrder, fulfillment())
      const body = stub.requests[0].body as { items: unknown[] }
      assert.deepEqual(body.items, [{ line_item_id: "ordli_kit", sku: "KIT-1", quantity: 2, fulfilled_quantity: 0 }])
    })

    it("retries once with the same key and body after a 5xx", async () => {
      stub.routes({
        "POST /v1/fulfillments": [problem(503, "worker restarting"), { status: 201, body: fulfillmentResponse() }],
      })
      const { provider } = makeProvider(stub.url)
      const result = await provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment())
      assert.equal(result.data.id, "cjf_01")
      assert.equal(stub.requests.length, 2)
      assert.equal(stub.requests[1].headers["idempotency-key"], "ful_01TEST")
      assert.equal(stub.requests[1].rawBody, stub.requests[0].rawBody)
    })

    it("does not retry a 422 and surfaces our detail", async () => {
      const detail = "Unknown SKU MUG-RED: import a SKU mapping first"
      stub.routes({ "POST /v1/fulfillments": problem(422, detail) })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(MedusaError.Types.INVALID_DATA, detail)
      )
      assert.equal(stub.requests.length, 1)
    })

    it("shows CJ's refusal (fulfillment-failed) with the service's failed fulfillment, without retrying", async () => {
      stub.routes({
        "POST /v1/fulfillments": serviceProblem(422, "fulfillment-failed", "Balance insufficient (CJ code 1600301)", {
          fulfillment: fulfillmentResponse({ id: "ful_svc_9", status: "failed", status_reason: "Balance insufficient (CJ code 1600301)" }),
        }),
      })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(
          MedusaError.Types.NOT_ALLOWED,
          "CJ refused the order: Balance insufficient (CJ code 1600301) " +
            "(cj-fulfillment ful_svc_9 is failed; fix the cause and create a new fulfillment)",
          "fulfillment-failed"
        )
      )
      assert.equal(stub.requests.length, 1)
    })

    it("words the default refusal once and names unmapped SKUs", async () => {
      stub.routes({ "POST /v1/fulfillments": serviceProblem(422, "fulfillment-failed", "CJ refused the order.") })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(MedusaError.Types.NOT_ALLOWED, "CJ refused the order.", "fulfillment-failed")
      )
      stub.routes({
        "POST /v1/fulfillments": serviceProblem(422, "unknown-sku", "Unknown SKU(s): MUG-RED", { unknown_skus: ["MUG-RED"] }),
      })
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(MedusaError.Types.INVALID_DATA, /^CJ cannot ship MUG-RED yet: no CJ variant is mapped to this SKU\./, "unknown-sku")
      )
    })

    it("adds the field errors of a validation problem to its detail", async () => {
      stub.routes({
        "POST /v1/fulfillments": serviceProblem(422, "validation", "The request is invalid: shipping_address.phone.", {
          errors: [{ field: "shipping_address.phone", message: "a phone number has 6 to 32 digits", type: "value_error" }],
        }),
      })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(
          MedusaError.Types.INVALID_DATA,
          "The request is invalid: shipping_address.phone. (shipping_address.phone: a phone number has 6 to 32 digits)",
          "validation"
        )
      )
    })

    it("waits out a 409 'still being processed' (Retry-After) and gets the stored answer", async () => {
      const inProgress = serviceProblem(
        409,
        "conflict",
        "A request with this Idempotency-Key is still being processed; retry shortly.",
        {},
        { "retry-after": "1" }
      )
      stub.routes({ "POST /v1/fulfillments": [inProgress, { status: 201, body: fulfillmentResponse() }] })
      const { provider } = makeProvider(stub.url)
      const result = await provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment())
      assert.equal(result.data.id, "cjf_01")
      assert.equal(stub.requests.length, 2)
      assert.equal(stub.requests[1].headers["idempotency-key"], "ful_01TEST")
    })

    it("gives up after two in-progress answers and does not retry a 409 without Retry-After", async () => {
      const inProgress = serviceProblem(409, "conflict", "still being processed", {}, { "retry-after": "0" })
      stub.routes({ "POST /v1/fulfillments": inProgress })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(MedusaError.Types.NOT_ALLOWED, "still being processed", "conflict")
      )
      assert.equal(stub.requests.length, 3)

      stub.routes({ "POST /v1/fulfillments": serviceProblem(409, "conflict", "something else") })
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(MedusaError.Types.NOT_ALLOWED, "something else")
      )
      assert.equal(stub.requests.length, 1)
    })

    it("fails after the retry when the service stays down", async () => {
      stub.routes({ "POST /v1/fulfillments": problem(500, "boom") })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment()),
        medusaError(MedusaError.Types.UNEXPECTED_STATE, /HTTP 500/)
      )
      assert.equal(stub.requests.length, 2)
    })

    it("fulfils through a CJ option that is not the order's method (data {}): the option's own data.id", async () => {
      stub.routes({ "POST /v1/fulfillments": { status: 201, body: fulfillmentResponse() } })
      const { logger } = captureLogger()
      const reads: unknown[] = []
      const shippingOptionService = {
        retrieve: async (id: string, config: unknown) => {
          reads.push([id, config])
          return { id, data: { id: "us-expedited", name: "US Expedited" } }
        },
      }
      const provider = new CjFulfillmentProviderService(
        { logger, shippingOptionService } as never,
        { baseUrl: stub.url, apiKey: API_KEY }
      )
      await provider.createFulfillment({}, fulfillmentItems(), order(), fulfillment())
      assert.equal((stub.requests[0].body as { option_id: string }).option_id, "us-expedited")
      assert.deepEqual(reads, [["so_01", { select: ["id", "data"] }]])
    })

    it("takes the option from the order's method for that shipping option when data is {}", async () => {
      stub.routes({ "POST /v1/fulfillments": { status: 201, body: fulfillmentResponse() } })
      const { provider } = makeProvider(stub.url)
      const withMethods = order({
        shipping_methods: [
          { id: "sm_1", shipping_option_id: "so_other", data: { option_id: "us-standard" } },
          { id: "sm_2", shipping_option_id: "so_01", data: { option_id: "us-expedited" } },
        ],
      })
      await provider.createFulfillment({}, fulfillmentItems(), withMethods, fulfillment())
      assert.equal((stub.requests[0].body as { option_id: string }).option_id, "us-expedited")
    })

    it("sends what Medusa already counts as fulfilled per line, so the service can tell a retry from a split", async () => {
      stub.routes({ "POST /v1/fulfillments": { status: 201, body: fulfillmentResponse() } })
      const { provider } = makeProvider(stub.url)
      const counted = order({
        items: [
          { id: "ordli_1", title: "Mug", variant_sku: "MUG-RED", quantity: 4, detail: { fulfilled_quantity: 2 } },
          { id: "ordli_2", title: "Tee", variant_sku: "TEE-M", quantity: 1, fulfilled_quantity: { numeric: 0 } },
        ],
      })
      await provider.createFulfillment(methodData, fulfillmentItems(), counted, fulfillment())
      const items = (stub.requests[0].body as { items: { fulfilled_quantity: number }[] }).items
      assert.deepEqual(items.map((i) => i.fulfilled_quantity), [2, 0])
    })

    it("sends a line item's metadata.pod_properties (a list or its JSON text) as the line's pod_properties", async () => {
      stub.routes({ "POST /v1/fulfillments": { status: 201, body: fulfillmentResponse() } })
      const { provider } = makeProvider(stub.url)
      const pod = [{ areaName: "LogoArea", links: ["https://img.example/logo.png"], type: "1" }]
      const withPod = order({
        items: [
          { id: "ordli_1", title: "Mug", variant_sku: "MUG-RED", quantity: 4, metadata: { pod_properties: pod } },
          { id: "ordli_2", title: "Tee", variant_sku: "TEE-M", quantity: 1, metadata: { pod_properties: JSON.stringify(pod) } },
        ],
      })
      await provider.createFulfillment(methodData, fulfillmentItems(), withPod, fulfillment())
      const items = (stub.requests[0].body as { items: { pod_properties?: unknown }[] }).items
      assert.deepEqual(items.map((i) => i.pod_properties), [pod, pod])
      stub.requests.length = 0
      await provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment())
      const plain = (stub.requests[0].body as { items: Record<string, unknown>[] }).items
      assert.ok(plain.every((i) => !("pod_properties" in i)))
    })

    it("refuses without option id, fulfillment id, order or line item (no call)", async () => {
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.createFulfillment({}, fulfillmentItems(), order(), fulfillment()),
        medusaError(MedusaError.Types.INVALID_DATA, /shipping option so_01 of this fulfillment has no CJ option id/)
      )
      await assert.rejects(provider.createFulfillment(methodData, fulfillmentItems(), order(), fulfillment({ id: undefined })), medusaError(MedusaError.Types.INVALID_DATA))
      await assert.rejects(provider.createFulfillment(methodData, fulfillmentItems(), undefined, fulfillment()), medusaError(MedusaError.Types.INVALID_DATA, /order/))
      await assert.rejects(
        provider.createFulfillment(methodData, [{ id: "x", title: "Loose", sku: "S", quantity: 1 }], order(), fulfillment()),
        medusaError(MedusaError.Types.INVALID_DATA, /line item/)
      )
      assert.equal(stub.requests.length, 0)
    })
  })

  describe("cancelFulfillment", () => {
    const data = { id: "cjf_01", status: "created", cj_order_id: "2101234567890123456" }

    it("POSTs /v1/fulfillments/{id}/cancel", async () => {
      stub.routes({ "POST /v1/fulfillments/cjf_01/cancel": { status: 200, body: fulfillmentResponse({ status: "cancelled" }) } })
      const { provider } = makeProvider(stub.url)
      const result = await provider.cancelFulfillment(data)
      assert.equal(stub.requests.length, 1)
      assert.equal(stub.requests[0].method, "POST")
      assert.equal(stub.requests[0].headers.authorization, `Bearer ${API_KEY}`)
      assert.equal(result.status, "cancelled")
    })

    it("turns a 409 into a MedusaError with our detail, which Medusa shows", async () => {
      const detail = "CJ order 2101234567890123456 is paid and can no longer be cancelled"
      stub.routes({
        "POST /v1/fulfillments/cjf_01/cancel": serviceProblem(409, "conflict", detail, { status_now: "unshipped" }),
      })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(provider.cancelFulfillment(data), medusaError(MedusaError.Types.NOT_ALLOWED, detail, "conflict"))
    })

    it("keeps Medusa's fulfillment when the service opened a refund dispute (202), saying so", async () => {
      stub.routes({
        "POST /v1/fulfillments/cjf_01/cancel": {
          status: 202,
          body: fulfillmentResponse({ status: "unshipped", dispute_id: "DSP-77" }),
        },
      })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.cancelFulfillment(data),
        medusaError(
          MedusaError.Types.NOT_ALLOWED,
          "CJ order 2101234567890123456 is already paid: a refund dispute DSP-77 is now open at CJ. " +
            "The CJ order is cancelled only when CJ refunds it, so this fulfillment stays; cancel it again after the refund.",
          "refund-dispute-open"
        )
      )
    })

    it("says nothing changed when CJ cannot be asked (503), and NOT_FOUND for an unknown id", async () => {
      stub.routes({
        "POST /v1/fulfillments/cjf_01/cancel": serviceProblem(
          503,
          "upstream-unavailable",
          "CJ could not be asked (timeout); nothing was cancelled. Retry shortly.",
          {},
          { "retry-after": "5" }
        ),
      })
      const { provider } = makeProvider(stub.url)
      await assert.rejects(
        provider.cancelFulfillment(data),
        medusaError(
          MedusaError.Types.UNEXPECTED_STATE,
          "CJ could not be reached while cancelling the CJ order; nothing was changed, try again shortly. " +
            "(CJ could not be asked (timeout); nothing was cancelled. Retry shortly.)",
          "upstream-unavailable"
        )
      )
      assert.equal(stub.requests.length, 1, "a cancel is not retried by the provider")

      stub.routes({ "POST /v1/fulfillments/cjf_01/cancel": serviceProblem(404, "not-found", "No fulfillment 'cjf_01'.") })
      await assert.rejects(provider.cancelFulfillment(data), medusaError(MedusaError.Types.NOT_FOUND, "No fulfillment 'cjf_01'."))
    })

    it("escapes the id in the path and makes no call without an id", async () => {
      stub.routes({ "POST /v1/fulfillments/a%2Fb/cancel": { status: 200, body: { status: "cancelled" } } })
      const { provider } = makeProvider(stub.url)
      await provider.cancelFulfillment({ id: "a/b" })
      assert.equal(stub.requests[0].path, "/v1/fulfillments/a%2Fb/cancel")
      await provider.cancelFulfillment({})
      assert.equal(stub.requests.length, 1)
    })
  })

  describe("returns and documents", () => {
    it("createReturnFulfillment says returns are handled manually, with no labels and no call", async () => {
      const { provider } = makeProvider(stub.url)
      const result = await provider.createReturnFulfillment({ id: "ful_ret_1", shipping_option: { id: "so_r" } })
      assert.deepEqual(result, {
        data: { handled_by: "manual", provider: "cj", note: MANUAL_RETURN_NOTE },
        labels: [],
      })
      assert.equal(stub.requests.length, 0)
    })

    it("the document methods return empty lists", async () => {
      const { provider } = makeProvider(stub.url)
      assert.deepEqual(await provider.getFulfillmentDocuments({ id: "cjf_01" }), [])
      assert.deepEqual(await provider.getReturnDocuments({}), [])
      assert.deepEqual(await provider.getShipmentDocuments({}), [])
      assert.deepEqual(await provider.retrieveDocuments({ id: "cjf_01" }, "label"), [])
      assert.equal(stub.requests.length, 0)
    })
  })
})
