/**
 * The widget's calls, all to this Medusa backend with the admin's session cookie: the
 * plugin's routes (which ask the cj-fulfillment service with the key the server holds)
 * and Medusa's own Admin API. The dashboard build defines `__BACKEND_URL__`.
 */
import type { OrderCjView, RetryResult } from "../../lib/views"

export type { CjFulfillmentView, OrderCjView, RetryResult, ServiceEvent, ServiceFulfillment, Tracking } from "../../lib/views"

declare const __BACKEND_URL__: string | undefined

const BACKEND = (typeof __BACKEND_URL__ === "string" && __BACKEND_URL__ ? __BACKEND_URL__ : "/").replace(/\/+$/, "")

/** A failed call, with the message Medusa (or the plugin) answered. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message)
  }
}

async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(`${BACKEND}${path}`, {
      method,
      credentials: "include",
      headers: body === undefined ? { accept: "application/json" } : { accept: "application/json", "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  } catch (err) {
    throw new ApiError(`Medusa could not be reached: ${err instanceof Error ? err.message : String(err)}`, 0)
  }
  const text = await res.text()
  let parsed: unknown
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = undefined
  }
  if (!res.ok) {
    const message =
      parsed && typeof parsed === "object" && typeof (parsed as { message?: unknown }).message === "string"
        ? (parsed as { message: string }).message
        : `HTTP ${res.status}`
    throw new ApiError(message, res.status)
  }
  return parsed as T
}

export function loadOrder(orderId: string): Promise<OrderCjView> {
  return call("GET", `/admin/cj-fulfillment/orders/${encodeURIComponent(orderId)}`)
}

/** Medusa's own cancel: it asks the provider, which cancels at CJ through the service. */
export function cancelFulfillment(orderId: string, fulfillmentId: string): Promise<unknown> {
  return call(
    "POST",
    `/admin/orders/${encodeURIComponent(orderId)}/fulfillments/${encodeURIComponent(fulfillmentId)}/cancel`,
    {}
  )
}

/** The plugin's route: the service sends the queued CJ order now. */
export function retryFulfillment(fulfillmentId: string): Promise<RetryResult> {
  return call("POST", `/admin/cj-fulfillment/fulfillments/${encodeURIComponent(fulfillmentId)}/retry`, {})
}
