/**
 * The store integrations/medusa-store/run-store.sh started, as the browser test drives
 * it: the KEY=VALUE file STORE_ENV names (see that folder's README), Medusa's Store API
 * (publishable key) and Admin API (an admin's token), the service and cjsim.
 */
import { readFileSync } from "node:fs"

export type StoreEnv = Record<string, string>

export function readStoreEnv(): StoreEnv | undefined {
  const path = process.env.STORE_ENV
  if (!path) {
    return undefined
  }
  const env: StoreEnv = {}
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const at = line.indexOf("=")
    if (at > 0) {
      env[line.slice(0, at).trim()] = line.slice(at + 1).trim()
    }
  }
  return env
}

export const US_ADDRESS = {
  first_name: "Ada",
  last_name: "Lovelace",
  address_1: "1 Main St",
  city: "New York",
  province: "NY",
  postal_code: "10001",
  country_code: "us",
  phone: "+1 212 555 0100",
}

type Json = any // eslint-disable-line @typescript-eslint/no-explicit-any

async function call(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Json> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) {
    throw new Error(`${method} ${base}${path} → ${res.status}: ${text.slice(0, 1500)}`)
  }
  return text ? JSON.parse(text) : {}
}

export class Store {
  private adminToken = ""

  constructor(readonly env: StoreEnv) {}

  async login(): Promise<void> {
    const answer = await call(this.env.MEDUSA_URL, "POST", "/auth/user/emailpass", {}, {
      email: this.env.ADMIN_EMAIL,
      password: this.env.ADMIN_PASSWORD,
    })
    this.adminToken = answer.token
  }

  shop(method: string, path: string, body?: unknown): Promise<Json> {
    return call(this.env.MEDUSA_URL, method, path, { "x-publishable-api-key": this.env.MEDUSA_PUBLISHABLE_KEY }, body)
  }

  admin(method: string, path: string, body?: unknown): Promise<Json> {
    return call(this.env.MEDUSA_URL, method, path, { authorization: `Bearer ${this.adminToken}` }, body)
  }

  sim(method: string, path: string, body?: unknown): Promise<Json> {
    return call(this.env.CJSIM_URL, method, path, {}, body)
  }

  /** A storefront checkout with the CJ shipping option; the order. */
  async checkout(): Promise<Json> {
    const { cart } = await this.shop("POST", "/store/carts", {
      region_id: this.env.STORE_REGION_ID,
      sales_channel_id: this.env.STORE_SALES_CHANNEL_ID,
      email: `buyer-${Date.now()}@store.test`,
      items: [{ variant_id: this.env.STORE_VARIANT_ID, quantity: 1 }],
    })
    await this.shop("POST", `/store/carts/${cart.id}`, { shipping_address: US_ADDRESS })
    await this.shop("POST", `/store/carts/${cart.id}/shipping-methods`, { option_id: this.env.STORE_SHIPPING_OPTION_ID })
    const { payment_collection } = await this.shop("POST", "/store/payment-collections", { cart_id: cart.id })
    await this.shop("POST", `/store/payment-collections/${payment_collection.id}/payment-sessions`, {
      provider_id: "pp_system_default",
    })
    const completed = await this.shop("POST", `/store/carts/${cart.id}/complete`)
    if (completed.type !== "order") {
      throw new Error(`the cart did not become an order: ${JSON.stringify(completed).slice(0, 500)}`)
    }
    return completed.order
  }

  /** Medusa's "Fulfill items" for the whole order, at the seeded location. */
  async fulfil(order: Json): Promise<void> {
    await this.admin("POST", `/admin/orders/${order.id}/fulfillments`, {
      items: order.items.map((item: Json) => ({ id: item.id, quantity: item.quantity })),
      location_id: this.env.STORE_LOCATION_ID,
    })
  }

  async fulfillments(orderId: string): Promise<Json[]> {
    const fields = ["id", "fulfillments.id", "fulfillments.data", "fulfillments.shipped_at", "fulfillments.labels.*"].join(",")
    const { order } = await this.admin("GET", `/admin/orders/${orderId}?fields=${fields}`)
    return order.fulfillments
  }
}

/** Polls `check` every 500 ms until it returns something truthy; fails after `seconds`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, seconds = 90): Promise<T> {
  const deadline = Date.now() + seconds * 1000
  for (;;) {
    const value = await check()
    if (value) {
      return value
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${seconds} s`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}
