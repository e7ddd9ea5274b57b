import { ModuleProvider, Modules } from "@medusajs/framework/utils"

import { CjFulfillmentProviderService } from "./service"

export { CjFulfillmentProviderService, MANUAL_RETURN_NOTE } from "./service"
export type { CjFulfillment, CjFulfillmentData, CjFulfillmentOption, CjShippingMethodData } from "./service"
export type { CjProviderOptions, MajorAmount } from "./options"
export { CjHttpError, CjTransportError } from "./client"
export { ProblemTypes } from "./errors"

/**
 * The Fulfillment Module provider. In medusa-config.ts:
 * `{ resolve: "medusa-fulfillment-cj/providers/cj", id: "cj", options: { baseUrl, apiKey } }`
 * → provider id `cj_cj`. The package's main entry is this file too, so the older
 * `resolve: "medusa-fulfillment-cj"` still works.
 */
export default ModuleProvider(Modules.FULFILLMENT, {
  services: [CjFulfillmentProviderService],
})
