/**
 * What calculated shipping providers (the CJ provider) lack in the pricing context of the
 * flows that price an order rather than a cart (core-flows 2.21.2):
 * - draft orders, claims, exchanges, returns: the currency. Their workflows have it in
 *   their input (`currency_code`, the order's) but do not pass it on;
 * - claims, exchanges and returns (`fetchShippingOptionForOrderWorkflow`): the order's
 *   address, which that workflow asks for as `shipping_address` without its fields, so
 *   the context holds no country; and the lines a claim or an exchange sends, which are
 *   new lines of the order change, not yet among the order's `items` that the context has.
 * The workflow spreads the order over what a hook returns, so these come under keys of
 * their own, `cj_shipping_address` and `cj_items`, which the provider reads.
 * (Order edits never ask a provider: their workflow asks the Pricing Module, so an edit's
 * CJ shipping method needs the admin's custom amount.)
 * Medusa takes one handler per hook: a store that needs its own merges this into it.
 */
import type { MedusaContainer } from "@medusajs/framework/types"
import { ContainerRegistrationKeys } from "@medusajs/framework/utils"
import { StepResponse } from "@medusajs/framework/workflows-sdk"
import {
  fetchShippingOptionForDraftOrderWorkflow,
  fetchShippingOptionForOrderWorkflow,
} from "@medusajs/medusa/core-flows"

type FlowItem = { id?: unknown }
type HookInput = {
  input?: {
    order_id?: string
    currency_code?: string
    context?: Record<string, unknown>
  }
}

const FLOW_ITEM_KEYS = ["claim_items", "exchange_items", "return_items"] as const

function currencyOf(input: HookInput["input"]): Record<string, string> {
  return input?.currency_code ? { currency_code: input.currency_code } : {}
}

function flowItemIds(context: Record<string, unknown> | undefined): string[] {
  const ids = FLOW_ITEM_KEYS.flatMap((key) => (Array.isArray(context?.[key]) ? (context[key] as FlowItem[]) : []))
    .map((item) => item?.id)
    .filter((id): id is string => typeof id === "string")
  return [...new Set(ids)]
}

async function orderContext(input: HookInput["input"], container: MedusaContainer): Promise<Record<string, unknown>> {
  if (!input?.order_id) {
    return {}
  }
  const query = container.resolve(ContainerRegistrationKeys.QUERY)
  const { data: orders } = await query.graph({
    entity: "order",
    fields: ["id", "shipping_address.*"],
    filters: { id: input.order_id },
  })
  const result: Record<string, unknown> = { cj_shipping_address: orders[0]?.shipping_address ?? null }
  const ids = flowItemIds(input.context)
  if (ids.length) {
    const { data: lines } = await query.graph({
      entity: "order_line_item",
      fields: ["id", "title", "variant_id", "variant_sku", "product_id", "requires_shipping"],
      filters: { id: ids },
    })
    result.cj_items = lines
  }
  return result
}

fetchShippingOptionForOrderWorkflow.hooks.setCalculatedShippingPricingContext(
  async ({ input }: HookInput, { container }: { container: MedusaContainer }) =>
    new StepResponse({ ...currencyOf(input), ...(await orderContext(input, container)) })
)
fetchShippingOptionForDraftOrderWorkflow.hooks.setCalculatedShippingPricingContext(
  ({ input }: HookInput) => new StepResponse(currencyOf(input))
)
