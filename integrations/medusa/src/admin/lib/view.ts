import type { CjFulfillmentView, ServiceEvent, Tracking } from "./api"

/** What one CJ fulfillment card shows, from the service's live view or else Medusa's `data`. */
export interface CardModel {
  id: string
  cjOrderId: string | null
  status: string
  reason: string | null
  tracking: Tracking[]
  events: ServiceEvent[]
  live: boolean
  cancelledInMedusa: boolean
  canCancel: boolean
  canRetry: boolean
}

const CANCELLABLE = new Set(["pending", "created", "in_cart", "unpaid", "unshipped"])

function text(value: unknown): string | null {
  return typeof value === "string" && value.trim() ? value : null
}

function trackingOf(value: unknown): Tracking[] {
  if (!Array.isArray(value)) {
    return []
  }
  return value.filter(
    (t): t is Tracking => !!t && typeof t === "object" && typeof (t as Tracking).number === "string"
  )
}

export function cardModel(f: CjFulfillmentView): CardModel {
  const live = f.service
  const status = text(live?.status) ?? text(f.data.status) ?? "unknown"
  const tracking = live ? trackingOf(live.tracking) : trackingOf(f.data.tracking)
  const fromLabels = f.labels
    .filter((l) => l.tracking_number && !tracking.some((t) => t.number === l.tracking_number))
    .map((l) => ({ number: l.tracking_number, url: l.tracking_url }))
  const cancelledInMedusa = !!f.canceled_at
  return {
    id: f.id,
    cjOrderId: text(live?.cj_order_id) ?? text(f.data.cj_order_id),
    status,
    reason: text(live?.status_reason) ?? text(f.data.status_reason),
    tracking: [...tracking, ...fromLabels],
    events: f.events,
    live: !!live,
    cancelledInMedusa,
    canCancel: !cancelledInMedusa && !f.shipped_at && CANCELLABLE.has(status),
    canRetry: !cancelledInMedusa && live !== null && status === "pending",
  }
}

/** What the merchant reads after "Retry now". */
export function retryMessage(result: { outcome: string; fulfillment: { cj_order_id?: string | null }; message?: string }): string {
  if (result.outcome === "placed") {
    return `Placed at CJ: order ${result.fulfillment.cj_order_id ?? ""}`.trim()
  }
  if (result.outcome === "failed") {
    return `CJ refused the order: ${result.message ?? "no reason given"}`
  }
  return "CJ still cannot be reached: the order stays queued and is tried again automatically."
}

/** A link only for an http(s) URL; Medusa stores "#" for "no URL". */
export function trackingHref(t: Tracking): string | null {
  return t.url && /^https?:\/\//.test(t.url) ? t.url : null
}

export function statusColor(status: string): "green" | "red" | "orange" | "blue" | "grey" {
  if (status === "shipped" || status === "delivered") {
    return "green"
  }
  if (status === "failed" || status === "cancelled") {
    return "red"
  }
  if (status === "pending") {
    return "orange"
  }
  return status === "unknown" ? "grey" : "blue"
}
