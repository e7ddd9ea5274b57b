/**
 * Integration test: the provider registered in Medusa's real Fulfillment Module
 * (@medusajs/fulfillment 2.21.2) through @medusajs/test-utils' moduleIntegrationTestRunner,
 * on a throwaway Postgres database the runner creates.
 *
 * Two suites:
 * - "against a stub service": always runs when Postgres is reachable. A local node:http
 *   stub plays cj-fulfillment, so this checks the Medusa side: provider registration
 *   (`cj_cj`), options, calculated shipping options, pricing, fulfillment create/cancel.
 * - "against the real cj-fulfillment": runs when CJ_FULFILLMENT_URL and
 *   CJ_FULFILLMENT_API_KEY are set (the service running against cjsim, CJSIM_URL), and is
 *   skipped with a message otherwise (a failure with CJ_FULFILLMENT_REQUIRE_LIVE=1, as in
 *   `make test`). It proves the issue's acceptance: the provider registered in the module
 *   prices a calculated shipping option in the cart's currency as the service quotes it,
 *   creates a fulfillment that becomes a CJ order in cjsim, and cancels it there.
 *
 * Needs: Postgres on DB_HOST:DB_PORT (default 127.0.0.1:5432), user DB_USERNAME (default
 * postgres) allowed to CREATE DATABASE, password DB_PASSWORD (default empty / trust).
 * Run: npm run test:integration
 */
import { createConnection } from "node:net"
import { createRequire } from "node:module"
import { dirname, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import assert from "node:assert/strict"
import { after, afterEach, before, beforeEach, describe, it } from "node:test"

import { MedusaError, Modules } from "@medusajs/framework/utils"
import type { IFulfillmentModuleService, OrderDTO } from "@medusajs/framework/types"

import { OPTION_DATA, cartContext, fulfillmentResponse } from "../support/fixtures.js"
import { problem, startStub, type Stub } from "../support/stub-server.js"

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const PROVIDER_PATH = resolve(here, "../../src/providers/cj/index.ts")
const FULFILLMENT_MODULE_PATH = dirname(require.resolve("@medusajs/fulfillment/package.json"))
const PROVIDER_ID = "cj_cj" // {identifier}_{id}

process.env.DB_HOST ??= "127.0.0.1"
process.env.DB_USERNAME ??= "postgres"
const DB_HOST = process.env.DB_HOST
const DB_PORT = Number(process.env.DB_PORT ?? "5432")

// The runner's databases; scripts/test-medusa.sh gives each run its own names (and drops them).
const DB_PREFIX = process.env.MEDUSA_IT_DB_PREFIX ?? "medusa-cj-provider-it"

process.env.MEDUSA_DISABLE_TELEMETRY ??= "true"

// Without @medusajs/medusa installed (it would pull in the whole server and admin bundler)
// MedusaApp cannot load the link modules; a single-module test needs none, and Medusa
// says so with a long stack trace on every module init. Drop only that warning.
const warn = console.warn.bind(console)
console.warn = (...args: unknown[]) => {
  if (typeof args[0] === "string" && args[0].startsWith("Error initializing link modules.")) {
    return
  }
  warn(...args)
}

// moduleIntegrationTestRunner is written for Jest: it calls the globals describe /
// beforeAll / afterAll / beforeEach / afterEach. node:test provides the same hooks.
Object.assign(globalThis, { describe, it, beforeAll: before, afterAll: after, beforeEach, afterEach })
const { moduleIntegrationTestRunner } = require("@medusajs/test-utils") as typeof import("@medusajs/test-utils")

function reachable(host: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port })
    const finish = (ok: boolean) => {
      socket.destroy()
      done(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once("connect", () => finish(true))
    socket.once("error", () => finish(false))
  })
}

/** Creates what a calculated CJ shipping option hangs on and returns it. */
async function createCalculatedOption(service: IFulfillmentModuleService, option: Record<string, unknown>) {
  const profile = await service.createShippingProfiles({ name: "Default", type: "default" })
  const set = await service.createFulfillmentSets({
    name: "CJ warehouse",
    type: "shipping",
    service_zones: [{ name: "US", geo_zones: [{ type: "country", country_code: "us" }] }],
  })
  const payload = {
    name: String(option.name ?? option.id),
    price_type: "calculated" as const,
    service_zone_id: set.service_zones[0].id,
    shipping_profile_id: profile.id,
    provider_id: PROVIDER_ID,
    type: { label: "Standard", description: "CJ", code: "cj-standard" },
    data: option,
  }
  // What Medusa's createShippingOptionsWorkflow asks before saving a calculated option.
  const [can] = await service.validateShippingOptionsForPriceCalculation([payload])
  assert.equal(can, true, "canCalculate must be true for a CJ option")
  return await service.createShippingOptions(payload)
}

function orderFor(items: { id: string; sku: string; quantity: number }[]): Partial<OrderDTO> {
  // Only the fields the provider reads; the module passes the order through untouched.
  return {
    id: "order_it_01",
    display_id: 1,
    email: "ada@example.com",
    currency_code: "usd",
    items: items.map((i) => ({ id: i.id, title: i.sku, variant_sku: i.sku, quantity: i.quantity })),
  } as unknown as Partial<OrderDTO>
}

const deliveryAddress = {
  first_name: "Ada",
  last_name: "Lovelace",
  phone: "+1 555 0100",
  address_1: "1 Main St",
  city: "Springfield",
  province: "IL",
  country_code: "us",
  postal_code: "62701",
}

const requireLive = process.env.CJ_FULFILLMENT_REQUIRE_LIVE === "1"
const LIVE_SUITE = "Fulfillment Module + CJ provider, against the real cj-fulfillment"
const pgUp = await reachable(DB_HOST, DB_PORT)

if (!pgUp) {
  const why = `Postgres is not reachable at ${DB_HOST}:${DB_PORT} (set DB_HOST/DB_PORT/DB_USERNAME/DB_PASSWORD)`
  describe("Fulfillment Module + CJ provider", () => {
    if (requireLive) {
      it("needs Postgres (CJ_FULFILLMENT_REQUIRE_LIVE=1)", () => assert.fail(why))
    } else {
      it(`skipped: ${why}`, { skip: true }, () => {})
    }
  })
} else {
  // ------------------------------------------------------------------ stub service
  const stub: Stub = await startStub()
  after(() => stub.close())

  const stubRoutes = () => ({
    "GET /v1/fulfillment-options": { status: 200, body: { options: [OPTION_DATA] } },
    "POST /v1/rates": {
      status: 200,
      body: {
        rates: [
          {
            option_id: "us-standard",
            amount: "12.34",
            currency: "USD",
            source: "live",
            logistic_name: "USPS+",
            eta_days: { min: 5, max: 7 },
            expires_at: "2026-01-01T00:15:00Z",
          },
        ],
      },
    },
    "POST /v1/fulfillments": (req: { headers: Record<string, unknown>; body: unknown }) => ({
      status: 201,
      body: fulfillmentResponse({
        external_id: req.headers["idempotency-key"],
        tracking: [{ number: "YT0001", carrier: "USPS", url: "https://t.example/YT0001" }],
      }),
    }),
    "POST /v1/fulfillments/cjf_01/cancel": { status: 200, body: fulfillmentResponse({ status: "cancelled" }) },
  })

  describe("Fulfillment Module + CJ provider, against a stub service", () => {
    moduleIntegrationTestRunner<IFulfillmentModuleService>({
      moduleName: Modules.FULFILLMENT,
      resolve: FULFILLMENT_MODULE_PATH,
      dbName: `${DB_PREFIX}-stub`,
      moduleOptions: {
        providers: [{ resolve: PROVIDER_PATH, id: "cj", options: { baseUrl: stub.url, apiKey: "it-key", rateTimeoutMs: 1000 } }],
      },
      testSuite: ({ service }) => {
        beforeEach(() => stub.routes(stubRoutes()))

        it("registers the provider as cj_cj and lists its options", async () => {
          const providers = await service.listFulfillmentProviders({})
          const cj = providers.find((p) => p.id === PROVIDER_ID)
          assert.ok(cj, `providers: ${providers.map((p) => p.id).join(", ")}`)
          assert.equal((cj as { is_enabled?: boolean }).is_enabled, true)

          const options = await service.retrieveFulfillmentOptions(PROVIDER_ID)
          assert.deepEqual(
            options.map((o) => [o.id, o.name]),
            [["us-standard", "US Standard"]]
          )
          assert.equal(stub.requests.at(-1)?.headers.authorization, "Bearer it-key")
        })

        it("prices a calculated shipping option in major units", async () => {
          const [option] = await service.retrieveFulfillmentOptions(PROVIDER_ID)
          const so = await createCalculatedOption(service, option)
          stub.routes(stubRoutes())

          const [price] = await service.calculateShippingOptionsPrices([
            { id: so.id, provider_id: PROVIDER_ID, optionData: so.data ?? {}, data: {}, context: cartContext() },
          ])
          assert.deepEqual(price, { calculated_amount: 12.34, is_calculated_price_tax_inclusive: false })
          const rateReq = stub.requests.find((r) => r.path === "/v1/rates")
          assert.ok(rateReq)
          assert.equal((rateReq.body as { option_id: string }).option_id, "us-standard")
        })

        it("a 422 from the service reaches the caller as a MedusaError with our detail", async () => {
          stub.routes({ ...stubRoutes(), "POST /v1/rates": problem(422, "Option us-standard does not deliver to FR") })
          await assert.rejects(
            service.calculateShippingOptionsPrices([
              // an order's context (draft order, order edit): the admin sees the refusal
              { id: "so_x", provider_id: PROVIDER_ID, optionData: { ...OPTION_DATA }, data: {}, context: { ...cartContext(), id: "order_it_01" } as ReturnType<typeof cartContext> },
            ]),
            (err: unknown) => err instanceof Error && (err as MedusaError).type === MedusaError.Types.INVALID_DATA &&
              err.message === "Option us-standard does not deliver to FR"
          )
        })

        it("creates a fulfillment (Idempotency-Key = Medusa fulfillment id), stores data and labels, then cancels", async () => {
          const [option] = await service.retrieveFulfillmentOptions(PROVIDER_ID)
          const so = await createCalculatedOption(service, option)
          stub.routes(stubRoutes())

          const created = await service.createFulfillment({
            location_id: "sloc_it_01",
            provider_id: PROVIDER_ID,
            shipping_option_id: so.id,
            delivery_address: deliveryAddress,
            items: [
              { title: "Mug", sku: "MUG-RED", quantity: 2, barcode: "", line_item_id: "ordli_1" },
            ],
            labels: [],
            order: orderFor([{ id: "ordli_1", sku: "MUG-RED", quantity: 2 }]),
            data: { option_id: "us-standard" },
          })

          const req = stub.requests.find((r) => r.path === "/v1/fulfillments")
          assert.ok(req, "the provider called POST /v1/fulfillments")
          assert.equal(req.headers["idempotency-key"], created.id)
          assert.deepEqual((req.body as { items: unknown }).items, [{ line_item_id: "ordli_1", sku: "MUG-RED", quantity: 2, fulfilled_quantity: 0 }])
          assert.equal((req.body as { order_id: string }).order_id, "order_it_01")

          const stored = await service.retrieveFulfillment(created.id, { relations: ["labels"] })
          assert.equal(stored.data?.id, "cjf_01")
          assert.equal(stored.data?.cj_order_id, "2101234567890123456")
          assert.deepEqual(
            stored.labels.map((l) => [l.tracking_number, l.tracking_url, l.label_url]),
            [["YT0001", "https://t.example/YT0001", ""]]
          )

          stub.routes({
            ...stubRoutes(),
            "POST /v1/fulfillments/cjf_01/cancel": problem(409, "CJ order is paid and can no longer be cancelled"),
          })
          await assert.rejects(service.cancelFulfillment(created.id), /can no longer be cancelled/)
          assert.equal((await service.retrieveFulfillment(created.id)).canceled_at, null)

          stub.routes(stubRoutes())
          const cancelled = await service.cancelFulfillment(created.id)
          assert.ok(cancelled.canceled_at)
        })

        it("when the service refuses the order, Medusa deletes its fulfillment row", async () => {
          stub.routes({ ...stubRoutes(), "POST /v1/fulfillments": problem(422, "Unknown SKU NOPE") })
          await assert.rejects(
            service.createFulfillment({
              location_id: "sloc_it_01",
              provider_id: PROVIDER_ID,
              delivery_address: deliveryAddress,
              items: [{ title: "Nope", sku: "NOPE", quantity: 1, barcode: "", line_item_id: "ordli_9" }],
              labels: [],
              order: orderFor([{ id: "ordli_9", sku: "NOPE", quantity: 1 }]),
              data: { option_id: "us-standard" },
            }),
            /Unknown SKU NOPE/
          )
          assert.equal((await service.listFulfillments({})).length, 0)
        })
      },
    })
  })

  // ------------------------------------------------------------------ real service
  const liveUrl = process.env.CJ_FULFILLMENT_URL?.replace(/\/+$/, "")
  const liveKey = process.env.CJ_FULFILLMENT_API_KEY
  const simUrl = process.env.CJSIM_URL?.replace(/\/+$/, "")

  if (!liveUrl || !liveKey || !simUrl) {
    const missing = "set CJ_FULFILLMENT_URL, CJ_FULFILLMENT_API_KEY and CJSIM_URL (the service running against cjsim)"
    describe(LIVE_SUITE, () => {
      if (requireLive) {
        it("needs the real service (CJ_FULFILLMENT_REQUIRE_LIVE=1)", () => assert.fail(missing))
      } else {
        it(`skipped: ${missing}`, { skip: true }, () => {})
      }
    })
  } else {
    defineLiveSuite(liveUrl, liveKey, simUrl)
  }
}

interface SimVariant {
  sku: string
  from_country: string
}

interface SimOrder {
  orderId: string
  orderNumber: string
  orderStatus: string
}

interface ServiceRate {
  option_id: string
  amount: string
  currency: string
  source: string
}

/** Polls `read` until `done` holds for its result, for at most `timeoutMs`. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) {
      return value
    }
    if (Date.now() > deadline) {
      assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`)
    }
    await new Promise((r) => setTimeout(r, 200))
  }
}

function defineLiveSuite(serviceUrl: string, apiKey: string, simUrl: string) {
  const service = async <T,>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${serviceUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as T }
  }
  const simOrders = async (): Promise<SimOrder[]> =>
    ((await (await fetch(`${simUrl}/_sim/orders`)).json()) as { orders: SimOrder[] }).orders
  const catalog = async (): Promise<SimVariant[]> =>
    ((await (await fetch(`${simUrl}/_sim/catalog`)).json()) as { variants: SimVariant[] }).variants

  /** The service's quote once CJ has answered (live or cached), so a second ask is the same price. */
  const settledRate = async (request: Record<string, unknown>): Promise<ServiceRate> => {
    const res = await eventually(
      () => service<{ rates: ServiceRate[] }>("POST", "/v1/rates", request),
      (r) => r.status === 200 && ["live", "cache"].includes(r.body.rates[0]?.source),
      "the service's quote from CJ"
    )
    return res.body.rates[0]
  }

  /** A US option of the service and a cjsim SKU that ships from where the option does. */
  const pickOptionAndSku = async (options: Record<string, unknown>[]) => {
    const option = options.find(
      (o) => o.calculated !== false && Array.isArray(o.destinations) && (o.destinations as string[]).includes("US")
    )
    assert.ok(option, `no calculated option of the service serves US: ${JSON.stringify(options)}`)
    const variant = (await catalog()).find((v) => v.from_country === option.from_country)
    assert.ok(variant, `cjsim has no SKU that ships from ${String(option.from_country)}`)
    return { option, sku: variant.sku }
  }

  const usAddress = { ...deliveryAddress, country_code: "us" }
  const cart = (sku: string, currency: string, quantity = 2) =>
    cartContext({
      currency_code: currency,
      shipping_address: { id: "caaddr_live", ...usAddress, created_at: new Date(), updated_at: new Date() },
      items: [{ id: "cali_live", title: sku, quantity, variant_sku: sku, requires_shipping: true }],
    })

  describe(LIVE_SUITE, () => {
    moduleIntegrationTestRunner<IFulfillmentModuleService>({
      moduleName: Modules.FULFILLMENT,
      resolve: FULFILLMENT_MODULE_PATH,
      dbName: `${DB_PREFIX}-live`,
      moduleOptions: {
        providers: [{ resolve: PROVIDER_PATH, id: "cj", options: { baseUrl: serviceUrl, apiKey } }],
      },
      testSuite: ({ service: fulfillmentModule }) => {
        it("registers the provider as cj_cj with the service's options", async () => {
          const providers = await fulfillmentModule.listFulfillmentProviders({})
          assert.ok(providers.some((p) => p.id === PROVIDER_ID && (p as { is_enabled?: boolean }).is_enabled))
          const options = await fulfillmentModule.retrieveFulfillmentOptions(PROVIDER_ID)
          const listed = await service<{ options: { id: string }[] }>("GET", "/v1/fulfillment-options")
          assert.deepEqual(
            options.map((o) => o.id),
            listed.body.options.map((o) => o.id)
          )
        })

        it("prices a calculated shipping option in the cart's currency, as the service quotes it", async () => {
          const { option, sku } = await pickOptionAndSku(await fulfillmentModule.retrieveFulfillmentOptions(PROVIDER_ID))
          const so = await createCalculatedOption(fulfillmentModule, option)
          assert.equal(so.price_type, "calculated")

          const prices: Record<string, number> = {}
          for (const currency of ["usd", "cad"]) {
            const quote = await settledRate({
              option_id: option.id,
              destination: { country_code: "US", province: "IL", city: "Springfield", zip: "62701" },
              items: [{ sku, quantity: 2 }],
              currency,
            })
            assert.equal(quote.currency.toLowerCase(), currency)
            const [price] = await fulfillmentModule.calculateShippingOptionsPrices([
              { id: so.id, provider_id: PROVIDER_ID, optionData: so.data ?? {}, data: {}, context: cart(sku, currency) },
            ])
            assert.equal(price.is_calculated_price_tax_inclusive, false)
            assert.ok(price.calculated_amount > 0, `${currency} price ${price.calculated_amount}`)
            assert.equal(price.calculated_amount, Number(quote.amount), `${currency}: the service quoted ${quote.amount}`)
            prices[currency] = price.calculated_amount
          }
          assert.notEqual(prices.usd, prices.cad, "the CAD cart is priced in CAD, not given the USD amount")
        })

        it("drops what CJ cannot ship from a cart (no amount), and shows the refusal on an order", async () => {
          const { option, sku } = await pickOptionAndSku(await fulfillmentModule.retrieveFulfillmentOptions(PROVIDER_ID))
          const so = await createCalculatedOption(fulfillmentModule, option)
          const price = (context: ReturnType<typeof cart>) =>
            fulfillmentModule.calculateShippingOptionsPrices([
              { id: so.id, provider_id: PROVIDER_ID, optionData: so.data ?? {}, data: {}, context },
            ])
          // A draft order / order edit: fetchShippingOptionForOrderWorkflow passes the order.
          const asOrder = (context: ReturnType<typeof cart>) => ({ ...context, id: "order_it_refusals" }) as ReturnType<typeof cart>
          const expect = (code: string, type: string, message: RegExp) => (err: unknown) => {
            assert.ok(err instanceof MedusaError, String(err))
            assert.equal(err.code, code, err.message)
            assert.equal(err.type, type, err.message)
            assert.match(err.message, message)
            return true
          }
          const abroad = cart(sku, "usd")
          abroad.shipping_address = { ...abroad.shipping_address!, country_code: "jp" }
          const unmapped = cart("NOT-A-CJ-SKU", "usd")
          for (const context of [abroad, unmapped]) {
            const [dropped] = await price(context)
            assert.equal(dropped.calculated_amount, undefined, "a cart is never blocked: Medusa drops an option without an amount")
          }
          await assert.rejects(price(asOrder(abroad)), expect("destination-not-served", MedusaError.Types.NOT_ALLOWED, /^CJ shipping does not deliver to JP: /))
          await assert.rejects(
            price(asOrder(unmapped)),
            expect("unknown-sku", MedusaError.Types.INVALID_DATA, /^CJ cannot ship NOT-A-CJ-SKU yet/)
          )
        })

        it("creates a fulfillment that becomes a CJ order in cjsim, and cancels it there", async () => {
          const { option, sku } = await pickOptionAndSku(await fulfillmentModule.retrieveFulfillmentOptions(PROVIDER_ID))
          const so = await createCalculatedOption(fulfillmentModule, option)
          const orderId = `order_it_${Date.now()}`
          const created = await fulfillmentModule.createFulfillment({
            location_id: "sloc_it_live",
            provider_id: PROVIDER_ID,
            shipping_option_id: so.id,
            delivery_address: usAddress,
            items: [{ title: sku, sku, quantity: 2, barcode: "", line_item_id: "ordli_live_1" }],
            labels: [],
            order: { ...orderFor([{ id: "ordli_live_1", sku, quantity: 2 }]), id: orderId },
            data: { option_id: option.id },
          })

          // Medusa keeps the service's fulfillment in fulfillment.data.
          const stored = await fulfillmentModule.retrieveFulfillment(created.id)
          const data = stored.data as Record<string, unknown>
          assert.match(String(data.id), /^ful_[0-9a-f]{32}$/, JSON.stringify(data))
          assert.ok(["created", "pending"].includes(String(data.status)), `status ${String(data.status)}`)
          assert.equal(data.external_id, created.id)
          assert.equal(data.option_id, option.id)

          const read = () => service<{ status: string; external_id: string; order_id: string; cj_order_id: string | null }>("GET", `/v1/fulfillments/${String(data.id)}`)
          const atCj = await eventually(read, (r) => r.status === 200 && r.body.cj_order_id !== null, "the CJ order id")
          assert.equal(atCj.body.external_id, created.id)
          assert.equal(atCj.body.order_id, orderId)
          const cjOrder = (await simOrders()).find((o) => o.orderNumber === data.id)
          assert.ok(cjOrder, "cjsim has the order, numbered with the service's id")
          assert.equal(cjOrder.orderId, atCj.body.cj_order_id)
          assert.equal(cjOrder.orderStatus, "CREATED")

          const cancelled = await fulfillmentModule.cancelFulfillment(created.id)
          assert.ok(cancelled.canceled_at, "Medusa marked its fulfillment cancelled")
          const afterCancel = await read()
          assert.equal(afterCancel.body.status, "cancelled")
          const deleted = (await simOrders()).find((o) => o.orderNumber === data.id)
          assert.equal(deleted?.orderStatus, "CANCELLED", "the CJ order was deleted at CJ")
        })
      },
    })
  })
}
