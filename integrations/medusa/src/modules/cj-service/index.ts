import { Module } from "@medusajs/framework/utils"

import CjServiceModuleService from "./service"

/**
 * The plugin's link to the cj-fulfillment service for its API routes (the provider has
 * its own, from the provider options). Medusa registers every module of a plugin with the
 * plugin's options, so `plugins: [{ resolve: "medusa-fulfillment-cj", options }]` is all
 * it needs; routes resolve it as `req.scope.resolve(CJ_SERVICE_MODULE)`.
 */
export const CJ_SERVICE_MODULE = "cj_fulfillment_service"

export default Module(CJ_SERVICE_MODULE, {
  service: CjServiceModuleService,
})
