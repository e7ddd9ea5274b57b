import type { AuthenticatedMedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import type { IFulfillmentModuleService } from "@medusajs/framework/types"
import { MedusaError, Modules } from "@medusajs/framework/utils"

import { isCjProvider, mergeCjData, type CjDataUpdate } from "../../../../../../lib/cj-data"

/**
 * `POST /admin/cj-fulfillment/fulfillments/:id/cj-data`: the cj-fulfillment service keeps
 * the Medusa fulfillment's `data` current (CJ order id, status and reason, tracking).
 * Medusa's Admin API has no route that changes a fulfillment's `data`, so this one calls
 * the Fulfillment Module. Authenticated like every `/admin` route: the service sends the
 * secret API key it already uses for shipments (`Authorization: Basic sk_…`).
 *
 * 200 `{ fulfillment: { id, data }, applied }`: `applied` is false when `data` already
 * held a newer state (nothing written). 404 no such fulfillment; 400 `not_allowed` when
 * it is not a CJ fulfillment or belongs to another service fulfillment.
 */
export async function POST(
  req: AuthenticatedMedusaRequest<CjDataUpdate>,
  res: MedusaResponse
): Promise<void> {
  const fulfillments = req.scope.resolve<IFulfillmentModuleService>(Modules.FULFILLMENT)
  const fulfillment = await fulfillments.retrieveFulfillment(req.params.id)
  if (!isCjProvider(fulfillment.provider_id)) {
    throw new MedusaError(
      MedusaError.Types.NOT_ALLOWED,
      `Fulfillment ${fulfillment.id} is not shipped through CJ (provider ${fulfillment.provider_id})`
    )
  }
  const update = req.validatedBody
  const storedId = fulfillment.data?.id
  if (typeof storedId === "string" && storedId !== update.id) {
    throw new MedusaError(
      MedusaError.Types.NOT_ALLOWED,
      `Fulfillment ${fulfillment.id} belongs to cj-fulfillment ${storedId}, not ${update.id}`
    )
  }
  const data = mergeCjData(fulfillment.data, update)
  if (!data) {
    res.json({ fulfillment: { id: fulfillment.id, data: fulfillment.data }, applied: false })
    return
  }
  const updated = await fulfillments.updateFulfillment(fulfillment.id, { data })
  res.json({ fulfillment: { id: updated.id, data: updated.data }, applied: true })
}
