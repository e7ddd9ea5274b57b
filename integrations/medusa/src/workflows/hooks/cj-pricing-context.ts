/**
 * Hands the order's currency to calculated shipping providers (the CJ provider) in the
 * flows whose pricing context has none: draft orders, order edits, claims, exchanges and
 * returns. Their workflows have the currency in their input (`currency_code`, the
 * order's) but put only the order's id, address and items in the provider's context.
 * Medusa takes one handler per hook: a store that has its own merges this into it.
 */
import { StepResponse } from "@medusajs/framework/workflows-sdk"
import {
  fetchShippingOptionForDraftOrderWorkflow,
  fetchShippingOptionForOrderWorkflow,
} from "@medusajs/medusa/core-flows"

type Input = { input?: { currency_code?: string } }

const currencyOf = ({ input }: Input) =>
  new StepResponse(input?.currency_code ? { currency_code: input.currency_code } : {})

fetchShippingOptionForOrderWorkflow.hooks.setCalculatedShippingPricingContext(currencyOf)
fetchShippingOptionForDraftOrderWorkflow.hooks.setCalculatedShippingPricingContext(currencyOf)
