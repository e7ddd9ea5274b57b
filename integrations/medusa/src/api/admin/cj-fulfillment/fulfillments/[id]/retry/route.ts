import type { AuthenticatedMedusaRequest, MedusaResponse } from "@medusajs/framework/http"
import type { IFulfillmentModuleService } from "@medusajs/framework/types"
import { MedusaError, Modules } from "@medusajs/framework/utils"

import { isCjProvider } from "../../../../../../lib/cj-data"
import { CJ_SERVICE_MODULE } from "../../../../../../modules/cj-service"
import type CjServiceModuleService from "../../../../../../modules/cj-service/service"
import { CjHttpError } from "../../../../../../providers/cj/client"

/**
 * `POST /admin/cj-fulfillment/fulfillments/:id/retry` (the widget's "Retry now"): asks the
 * service to send the queued CJ order of this Medusa fulfillment now.
 * 200 `{ outcome: "placed" | "queued" | "failed", fulfillment, message? }` (the service's
 * fulfillment; `failed` when CJ refused it, with CJ's reason); 400 when it is not a CJ
 * fulfillment or the service will not retry it (not pending, being sent), with the
 * service's reason; 404 unknown; 503 when the service cannot be reached.
 */
export async function POST(req: AuthenticatedMedusaRequest, res: MedusaResponse): Promise<void> {
  const fulfillments = req.scope.resolve<IFulfillmentModuleService>(Modules.FULFILLMENT)
  const fulfillment = await fulfillments.retrieveFulfillment(req.params.id)
  const serviceId = fulfillment.data?.id
  if (!isCjProvider(fulfillment.provider_id) || typeof serviceId !== "string") {
    throw new MedusaError(MedusaError.Types.NOT_ALLOWED, `Fulfillment ${fulfillment.id} is not shipped through CJ`)
  }
  const cj = req.scope.resolve<CjServiceModuleService>(CJ_SERVICE_MODULE)
  try {
    res.json(await cj.retry(serviceId))
  } catch (err) {
    if (err instanceof CjHttpError && err.status === 404) {
      throw new MedusaError(MedusaError.Types.NOT_FOUND, `cj-fulfillment has no fulfillment ${serviceId}`)
    }
    if (err instanceof CjHttpError && err.status < 500) {
      throw new MedusaError(MedusaError.Types.NOT_ALLOWED, err.message)
    }
    res.status(503).json({
      type: "service_unavailable",
      message: `cj-fulfillment could not retry it: ${err instanceof Error ? err.message : String(err)}`,
    })
  }
}
