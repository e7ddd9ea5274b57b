/**
 * The shapes the plugin's routes answer and the admin widget reads: one definition for
 * both sides (types only, so the admin bundle imports nothing of the server's).
 */

export interface Tracking {
  number: string
  carrier?: string | null
  url?: string | null
}

/** The service's `GET /v1/fulfillments/{id}` body, as far as the plugin uses it. */
export interface ServiceFulfillment {
  id: string
  external_id: string
  order_id: string
  status: string
  status_reason?: string | null
  cj_order_id?: string | null
  cj_order_number?: string | null
  cj_status?: string | null
  dispute_id?: string | null
  tracking?: Tracking[]
  updated_at?: string
}

/** One entry of the service's `GET /v1/fulfillments/{id}/events`. */
export interface ServiceEvent {
  source: string
  from: string | null
  to: string
  at: string
  detail?: Record<string, unknown> | null
}

/** What `POST …/retry` got: placed at CJ now, still queued, or refused by CJ (now failed). */
export interface RetryResult {
  outcome: "placed" | "queued" | "failed"
  fulfillment: ServiceFulfillment
  message?: string
}

/** One CJ fulfillment of an order: Medusa's record and the service's view now. */
export interface CjFulfillmentView {
  id: string
  provider_id: string
  data: Record<string, unknown>
  created_at: string
  shipped_at: string | null
  delivered_at: string | null
  canceled_at: string | null
  labels: { tracking_number: string; tracking_url: string }[]
  /** null when the service could not be asked or has no such fulfillment. */
  service: ServiceFulfillment | null
  events: ServiceEvent[]
}

/** `GET /admin/cj-fulfillment/orders/:id`. */
export interface OrderCjView {
  order_id: string
  service: { reachable: true } | { reachable: false; error: string }
  fulfillments: CjFulfillmentView[]
}
