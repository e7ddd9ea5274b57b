import type {
  CalculateShippingOptionPriceDTO,
  FulfillmentDTO,
  FulfillmentItemDTO,
  FulfillmentOrderDTO,
  Logger,
  ValidateFulfillmentDataContext,
} from "@medusajs/framework/types"

import { CjFulfillmentProviderService } from "../../src/providers/cj/service"
import type { CjProviderOptions } from "../../src/providers/cj/options"

export const API_KEY = "test-key-123"

export interface CapturedLog {
  level: "debug" | "info" | "warn" | "error"
  message: string
}

export function captureLogger(): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = []
  const at = (level: CapturedLog["level"]) => (m: unknown) => {
    lines.push({ level, message: m instanceof Error ? m.message : String(m) })
  }
  const logger = {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
  } as unknown as Logger
  return { logger, lines }
}

export function makeProvider(baseUrl: string, options: Partial<CjProviderOptions> = {}) {
  const { logger, lines } = captureLogger()
  const provider = new CjFulfillmentProviderService({ logger }, { baseUrl, apiKey: API_KEY, ...options })
  return { provider, lines }
}

export const OPTION_DATA = {
  id: "us-standard",
  name: "US Standard",
  from_country: "US",
  destinations: ["US"],
  eta_days: { min: 5, max: 7 },
  calculated: true,
  is_return: false,
}

type PriceContext = CalculateShippingOptionPriceDTO["context"]

/** A cart as Medusa passes it to calculatePrice (only the fields the provider reads matter). */
export function cartContext(overrides: Record<string, unknown> = {}): PriceContext {
  return {
    id: "cart_01",
    currency_code: "usd",
    region_id: "reg_01",
    shipping_address: {
      id: "caaddr_01",
      first_name: "Ada",
      last_name: "Lovelace",
      address_1: "1 Main St",
      city: "Springfield",
      province: "IL",
      country_code: "us",
      postal_code: "62701",
      created_at: new Date(),
      updated_at: new Date(),
    },
    items: [
      { id: "cali_1", title: "Mug", quantity: 2, variant_sku: "MUG-RED", requires_shipping: true },
      // Medusa BigNumber-like quantity
      { id: "cali_2", title: "Tee", quantity: { numeric: 1, valueOf: () => 1 }, variant_sku: "TEE-M", requires_shipping: true },
      // digital item: not sent
      { id: "cali_3", title: "Gift card", quantity: 1, variant_sku: "GC", requires_shipping: false },
    ],
    ...overrides,
  } as unknown as PriceContext
}

/**
 * An order as fetchShippingOptionForOrderWorkflow passes it (claims, exchanges, returns,
 * order edits): `id, shipping_address, items.*, items.variant.*`, the RMA list, and the
 * currency from this package's setCalculatedShippingPricingContext hook.
 */
export function orderContext(overrides: Record<string, unknown> = {}): PriceContext {
  return {
    id: "order_01",
    currency_code: "usd",
    shipping_address: {
      id: "oaddr_01",
      address_1: "1 Main St",
      city: "Springfield",
      province: "IL",
      country_code: "us",
      postal_code: "62701",
    },
    items: [
      { id: "ordli_1", title: "Mug", quantity: 2, variant_sku: "MUG-RED", requires_shipping: true, variant: { sku: "MUG-RED" } },
      { id: "ordli_2", title: "Tee", quantity: 1, variant_sku: "TEE-M", requires_shipping: true, variant: { sku: "TEE-M" } },
    ],
    ...overrides,
  } as unknown as PriceContext
}

/**
 * A draft order as fetchShippingOptionForDraftOrderWorkflow passes it: preview items
 * (a variant without managed inventory comes with `requires_shipping: false`) whose
 * product has the option's shipping profile.
 */
export function draftOrderContext(overrides: Record<string, unknown> = {}): PriceContext {
  const profile = { product: { id: "prod_1", shipping_profile: { id: "sp_1" } } }
  return {
    id: "order_draft",
    currency_code: "eur",
    shipping_address: { id: "oaddr_02", country_code: "us", city: "Springfield", postal_code: "62701" },
    items: [
      { id: "ordli_d1", title: "Mug", quantity: 3, variant_sku: "MUG-RED", requires_shipping: false, variant: { id: "var_1", ...profile } },
    ],
    ...overrides,
  } as unknown as PriceContext
}

export function validateContext(country = "us"): ValidateFulfillmentDataContext {
  return {
    ...(cartContext() as object),
    shipping_address: { id: "caaddr_01", country_code: country, created_at: new Date(), updated_at: new Date() },
    from_location: { id: "sloc_01", name: "Warehouse" },
  } as unknown as ValidateFulfillmentDataContext
}

export function order(overrides: Record<string, unknown> = {}): Partial<FulfillmentOrderDTO> {
  return {
    id: "order_01",
    display_id: 42,
    email: "ada@example.com",
    currency_code: "usd",
    shipping_address: {
      id: "oaddr_01",
      first_name: "Ada",
      last_name: "Lovelace",
      phone: "+1 555 0100",
      address_1: "1 Main St",
      address_2: "Apt 2",
      city: "Springfield",
      province: "IL",
      country_code: "us",
      postal_code: "62701",
      created_at: new Date(),
      updated_at: new Date(),
    },
    items: [
      { id: "ordli_1", title: "Mug", variant_sku: "MUG-RED", quantity: 2 },
      { id: "ordli_2", title: "Tee", variant_sku: "TEE-M", quantity: 1 },
    ],
    ...overrides,
  } as unknown as Partial<FulfillmentOrderDTO>
}

export function fulfillmentItems(): Partial<Omit<FulfillmentItemDTO, "fulfillment">>[] {
  return [
    { id: "fulit_1", title: "Mug", line_item_id: "ordli_1", sku: "MUG-RED", quantity: 2, inventory_item_id: "iitem_1" },
    { id: "fulit_2", title: "Tee", line_item_id: "ordli_2", sku: "TEE-M", quantity: 1, inventory_item_id: "iitem_2" },
  ]
}

export function fulfillment(
  overrides: Record<string, unknown> = {}
): Partial<Omit<FulfillmentDTO, "provider_id" | "data" | "items">> {
  return {
    id: "ful_01TEST",
    location_id: "sloc_01",
    shipping_option_id: "so_01",
    delivery_address: {
      id: "fuladdr_01",
      fulfillment_id: "ful_01TEST",
      company: null,
      first_name: "Ada",
      last_name: "Lovelace",
      address_1: "1 Main St",
      address_2: "Apt 2",
      city: "Springfield",
      country_code: "us",
      province: "IL",
      postal_code: "62701",
      phone: "+1 555 0100",
      metadata: null,
      created_at: new Date(),
      updated_at: new Date(),
      deleted_at: null,
    },
    ...overrides,
  }
}

export function fulfillmentResponse(overrides: Record<string, unknown> = {}) {
  return {
    id: "cjf_01",
    external_id: "ful_01TEST",
    order_id: "order_01",
    option_id: "us-standard",
    status: "created",
    cj_order_id: "2101234567890123456",
    cj_order_number: "CJ-ful_01TEST",
    tracking: [],
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...overrides,
  }
}
