import type { AuthenticatedMedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import { ContainerRegistrationKeys, MedusaError } from "@medusajs/framework/utils"

import { isCjProvider } from "../../../../../lib/cj-data"
import { CJ_SERVICE_MODULE } from "../../../../../modules/cj-service"
import type CjServiceModuleService from "../../../../../modules/cj-service/service"
import type { CjFulfillmentView, OrderCjView, ServiceEvent, ServiceFulfillment } from "../../../../../lib/views"

/** Medusa's fulfillment as the query below reads it: the view's fields, where Medusa may
 * have null for those the view always has. */
type MedusaFulfillment = Pick<CjFulfillmentView, "id" | "created_at" | "shipped_at" | "delivered_at" | "canceled_at"> & {
  provider_id: string | null
  data: CjFulfillmentView["data"] | null
  labels: CjFulfillmentView["labels"] | null
}

/**
 * `GET /admin/cj-fulfillment/orders/:id`: what the order page's widget shows. Per CJ
 * fulfillment: Medusa's record (its `data`, labels, dates) and the service's current view
 * with its event history, asked with the plugin's key on the server, so the service key
 * never reaches the browser. When the service cannot be asked, Medusa's part is still
 * answered and `service.reachable` is false with the reason.
 */
export async function GET(req: AuthenticatedMedusaRequest, res: MedusaResponse<OrderCjView>): Promise<void> {
  const query = req.scope.resolve(ContainerRegistrationKeys.QUERY)
  const { data: orders } = await query.graph({
    entity: "order",
    fields: [
      "id",
      "fulfillments.id",
      "fulfillments.provider_id",
      "fulfillments.data",
      "fulfillments.created_at",
      "fulfillments.shipped_at",
      "fulfillments.delivered_at",
      "fulfillments.canceled_at",
      "fulfillments.labels.tracking_number",
      "fulfillments.labels.tracking_url",
    ],
    filters: { id: req.params.id },
  })
  const order = orders[0] as { id: string; fulfillments?: MedusaFulfillment[] | null } | undefined
  if (!order) {
    throw new MedusaError(MedusaError.Types.NOT_FOUND, `Order with id: ${req.params.id} was not found`)
  }
  const ours = (order.fulfillments ?? []).filter((f) => isCjProvider(f.provider_id))

  let service: OrderCjView["service"] = { reachable: true }
  const byExternalId = new Map<string, ServiceFulfillment>()
  const eventsById = new Map<string, ServiceEvent[]>()
  if (ours.length > 0) {
    const cj = req.scope.resolve<CjServiceModuleService>(CJ_SERVICE_MODULE)
    try {
      for (const found of await cj.fulfillmentsOfOrder(order.id)) {
        byExternalId.set(found.external_id, found)
      }
      const known = ours.map((f) => byExternalId.get(f.id)).filter((f): f is ServiceFulfillment => !!f)
      const histories = await Promise.all(known.map((f) => cj.events(f.id)))
      known.forEach((f, i) => eventsById.set(f.id, histories[i]))
    } catch (err) {
      service = { reachable: false, error: err instanceof Error ? err.message : String(err) }
    }
  }

  res.json({
    order_id: order.id,
    service,
    fulfillments: ours.map((f) => {
      const live = byExternalId.get(f.id) ?? null
      return {
        id: f.id,
        provider_id: f.provider_id ?? "",
        data: f.data ?? {},
        created_at: f.created_at,
        shipped_at: f.shipped_at,
        delivered_at: f.delivered_at,
        canceled_at: f.canceled_at,
        labels: f.labels ?? [],
        service: live,
        events: live ? eventsById.get(live.id) ?? [] : [],
      }
    }),
  })
}
