import { AbstractFulfillmentProviderService, MedusaError } from "@medusajs/framework/utils"
import type {
  CalculatedShippingOptionPrice,
  CalculateShippingOptionPriceDTO,
  CartAddressDTO,
  CreateFulfillmentResult,
  CreateShippingOptionDTO,
  FulfillmentDTO,
  FulfillmentItemDTO,
  FulfillmentOption,
  FulfillmentOrderDTO,
  Logger,
  ValidateFulfillmentDataContext,
} from "@medusajs/framework/types"

import { CjHttpError, CjServiceClient, isRecord, type JsonResponse } from "./client"
import { isUnavailable, toMedusaError } from "./errors"
import { parseAmount, resolveOptions, type CjProviderOptions, type ResolvedOptions } from "./options"

const PACKAGE_VERSION = "0.1.0"
/** Longest wait this provider honours from a Retry-After while an admin request waits. */
const MAX_RETRY_AFTER_SECONDS = 2

type InjectedDependencies = {
  logger?: Logger
}

/** The Fulfillment Module's own shipping option service, in the container it gives its providers. */
type ShippingOptionReader = {
  retrieve(id: string, config?: { select?: string[] }): Promise<{ data?: Record<string, unknown> | null }>
}

/** The RMA item lists Medusa puts in the pricing context of claims, exchanges and returns. */
const FLOW_ITEM_KEYS = ["claim_items", "exchange_items", "return_items"] as const

type FulfillmentItemInput = Partial<Omit<FulfillmentItemDTO, "fulfillment">>
type FulfillmentInput = Partial<Omit<FulfillmentDTO, "provider_id" | "data" | "items">>
type Label = CreateFulfillmentResult["labels"][number]

/** One entry of `GET /v1/fulfillment-options`. */
export interface CjFulfillmentOption extends FulfillmentOption {
  id: string
  name: string
  from_country?: string
  destinations?: string[]
  eta_days?: { min: number; max: number }
  calculated?: boolean
}

/** The body of `POST /v1/fulfillments` and `GET /v1/fulfillments/{id}` (201 and 202 alike). */
export interface CjFulfillment {
  id: string
  external_id?: string
  order_id?: string
  option_id?: string
  status: string
  cj_order_id?: string | null
  cj_order_number?: string | null
  tracking?: { number?: string | null; carrier?: string | null; url?: string | null }[]
  created_at?: string
  updated_at?: string
}

/** What this provider keeps in Medusa's `fulfillment.data`. */
export interface CjFulfillmentData extends Record<string, unknown> {
  id: string
  status: string
  cj_order_id: string | null
  cj_order_number: string | null
  option_id: string | null
  external_id: string | null
}

/** What `validateFulfillmentData` stores in `ShippingMethod.data`. */
export interface CjShippingMethodData extends Record<string, unknown> {
  option_id: string
  option_name?: string
}

/** Returned by `createReturnFulfillment`: returns are not automated at CJ. */
export const MANUAL_RETURN_NOTE =
  "Returns are handled manually: CJ Dropshipping has no automated return flow. " +
  "Agree the return with the customer, then open an after-sales case at CJ if needed."

/**
 * Medusa v2 fulfillment module provider for CJ Dropshipping, through the cj-fulfillment
 * service (HTTP contract v1). Registered as `identifier = "cj"`; with `id: "cj"` in
 * medusa-config the provider id Medusa stores and shows is `cj_cj`.
 *
 * Money: Medusa v2 works in MAJOR units (10.5 = 10.50) and so does the service (decimal
 * strings), so amounts are passed through, never multiplied or divided by 100.
 */
export class CjFulfillmentProviderService extends AbstractFulfillmentProviderService {
  static identifier = "cj"

  protected readonly options_: ResolvedOptions
  protected readonly client_: CjServiceClient
  protected readonly logger_: Pick<Logger, "debug" | "info" | "warn" | "error">
  protected readonly container_: InjectedDependencies

  /** Called by Medusa's module-provider loader before the provider is registered. */
  static validateOptions(options: Record<string, unknown>): void {
    resolveOptions(options)
  }

  constructor(container: InjectedDependencies, options: CjProviderOptions) {
    super()
    this.options_ = resolveOptions(options)
    this.container_ = container ?? {}
    this.logger_ = container?.logger ?? console
    this.client_ = new CjServiceClient({
      baseUrl: this.options_.baseUrl,
      apiKey: this.options_.apiKey,
      userAgent: `medusa-fulfillment-cj/${PACKAGE_VERSION}`,
    })
  }

  // ---------------------------------------------------------------- options (admin)

  async getFulfillmentOptions(): Promise<CjFulfillmentOption[]> {
    return await this.listOptions()
  }

  /** Not called by Medusa 2.21 core flows; asks the service whether the option still exists. */
  async validateOption(data: Record<string, unknown>): Promise<boolean> {
    const optionId = typeof data?.id === "string" ? data.id : undefined
    if (!optionId) {
      return false
    }
    try {
      const res = await this.client_.post(
        "/v1/fulfillment-options/validate",
        { option_id: optionId, data },
        this.options_.timeoutMs
      )
      return isRecord(res.body) && res.body.valid === true
    } catch (err) {
      if (err instanceof CjHttpError && err.status === 422) {
        return false
      }
      throw toMedusaError(err, "validating the fulfillment option")
    }
  }

  /**
   * Called when the admin creates or updates a shipping option with
   * `price_type: "calculated"`. An update (the dashboard's edit form: name, "enabled in
   * store", profile) sends no `data`: the option keeps the CJ option chosen at creation,
   * so it can still be priced. A create (or an update that sends `data`) names a CJ
   * option, which must exist and be calculated.
   */
  async canCalculate(data: CreateShippingOptionDTO): Promise<boolean> {
    if (!isRecord(data?.data) || data.data.id === undefined) {
      return true
    }
    const optionId = typeof data.data.id === "string" ? data.data.id : undefined
    if (!optionId) {
      return false
    }
    const options = await this.listOptions()
    const option = options.find((o) => o.id === optionId)
    return option !== undefined && option.calculated !== false
  }

  // ---------------------------------------------------------------- checkout

  /**
   * Runs after calculatePrice when a shipping method is added to a cart; the result
   * becomes `ShippingMethod.data`, and later the `data` argument of createFulfillment.
   */
  async validateFulfillmentData(
    optionData: Record<string, unknown>,
    data: Record<string, unknown>,
    context: ValidateFulfillmentDataContext
  ): Promise<CjShippingMethodData> {
    const optionId = this.optionIdOf(optionData)
    const destinations = Array.isArray(optionData.destinations)
      ? optionData.destinations.filter((d): d is string => typeof d === "string").map((d) => d.toUpperCase())
      : []
    const country = context?.shipping_address?.country_code?.toUpperCase()
    if (country && destinations.length && !destinations.includes(country)) {
      throw new MedusaError(
        MedusaError.Types.NOT_ALLOWED,
        `The shipping option ${String(optionData.name ?? optionId)} does not deliver to ${country}`
      )
    }
    const result: CjShippingMethodData = { ...(data ?? {}), option_id: optionId }
    if (typeof optionData.name === "string") {
      result.option_name = optionData.name
    }
    return result
  }

  /**
   * Prices one calculated option. Returns MAJOR units in the currency Medusa prices in,
   * tax exclusive. Never returns 0 unless the service quoted "0.00" (a free option).
   *
   * Medusa calls this from carts (the context is the cart) and from draft orders, order
   * edits, claims, exchanges and returns (the context is the order, with `claim_items`
   * and the like; the currency comes from the `setCalculatedShippingPricingContext` hook
   * this package registers, see src/workflows/hooks). A cart is never blocked: Medusa
   * rethrows a provider error from every cart change (adding an item, a new address), but
   * drops a method whose price is missing, so for a cart CJ cannot price this returns no
   * amount (the CJ method goes away) unless a fallback in the cart's currency applies.
   * For an order (an admin action) the reason is thrown, so the admin sees it.
   */
  async calculatePrice(
    optionData: CalculateShippingOptionPriceDTO["optionData"],
    data: CalculateShippingOptionPriceDTO["data"],
    context: CalculateShippingOptionPriceDTO["context"]
  ): Promise<CalculatedShippingOptionPrice> {
    if (!isCartContext(context)) {
      return await this.priceFor(this.optionIdOf(optionData), currencyOf(context), context)
    }
    try {
      return await this.priceFor(this.optionIdOf(optionData), currencyOf(context), context)
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err)
      this.logger_.warn(
        `medusa-fulfillment-cj: cart ${String(context?.id)} cannot be priced for CJ option ` +
          `${String(optionData?.id)} (${reason}); the option is left without a price, so Medusa drops it from the cart`
      )
      return { calculated_amount: undefined as unknown as number, is_calculated_price_tax_inclusive: false }
    }
  }

  private async priceFor(
    optionId: string,
    currency: string,
    context: CalculateShippingOptionPriceDTO["context"]
  ): Promise<CalculatedShippingOptionPrice> {
    if (!currency) {
      throw new MedusaError(
        MedusaError.Types.INVALID_DATA,
        "Cannot price CJ shipping: Medusa gave no currency (for orders it comes from this package's " +
          "setCalculatedShippingPricingContext hook; is the plugin's workflow hook loaded?)"
      )
    }
    const destination = this.destinationOf(shippingAddressOf(context))
    const items = this.rateItemsOf(flowItemsOf(context))

    let body: unknown
    try {
      const res = await this.client_.post(
        "/v1/rates",
        { option_id: optionId, destination, items, currency: currency.toUpperCase() },
        this.options_.rateTimeoutMs
      )
      body = res.body
    } catch (err) {
      if (isUnavailable(err)) {
        const fallback = this.fallbackAmount(optionId, currency)
        if (fallback !== undefined) {
          this.logger_.warn(
            `medusa-fulfillment-cj: ${(err as Error).message}; charging the configured fallback ` +
              `${fallback} ${currency} for option ${optionId}`
          )
          return { calculated_amount: fallback, is_calculated_price_tax_inclusive: false }
        }
      }
      throw toMedusaError(err, "pricing shipping")
    }

    return {
      calculated_amount: this.amountFromRates(body, optionId, currency),
      is_calculated_price_tax_inclusive: false,
    }
  }

  // ---------------------------------------------------------------- orders (admin)

  /**
   * Places the order at CJ through the service. Medusa has already created its
   * fulfillment row (so `fulfillment.id` is known) and deletes it if this throws.
   * The Medusa fulfillment id is the idempotency key: a retry never makes a second order.
   */
  async createFulfillment(
    data: Record<string, unknown>,
    items: FulfillmentItemInput[],
    order: Partial<FulfillmentOrderDTO> | undefined,
    fulfillment: FulfillmentInput
  ): Promise<CreateFulfillmentResult> {
    const fulfillmentId = fulfillment?.id
    if (!fulfillmentId) {
      throw new MedusaError(MedusaError.Types.INVALID_DATA, "Cannot send a fulfillment to CJ without its Medusa id")
    }
    if (!order?.id) {
      throw new MedusaError(
        MedusaError.Types.INVALID_DATA,
        "CJ fulfillments are created from an order: this fulfillment has no order"
      )
    }
    const optionId = await this.fulfillmentOptionIdOf(data, order, fulfillment)
    const request = {
      external_id: fulfillmentId,
      order_id: order.id,
      option_id: optionId,
      shipping_address: this.shippingAddressOf(fulfillment, order),
      items: this.fulfillmentItemsOf(items, order),
    }

    const created = await this.postIdempotent("/v1/fulfillments", request, fulfillmentId).catch((err: unknown) => {
      throw toMedusaError(err, "sending the order to CJ")
    })
    const body = this.fulfillmentOf(created.body)
    if (created.status === 202) {
      this.logger_.info(
        `medusa-fulfillment-cj: fulfillment ${fulfillmentId} accepted and queued by cj-fulfillment as ${body.id} (status ${body.status})`
      )
    }
    return { data: this.dataOf(body), labels: this.labelsOf(body) }
  }

  /**
   * Cancels at CJ through the service. Medusa marks its fulfillment cancelled only when
   * this returns, so everything but a done cancel throws, with the reason Medusa shows:
   * - 200: cancelled (ours only, or CJ deleted its order).
   * - 409: CJ can no longer cancel it (paid, shipped); the service's detail says why.
   * - 202: the CJ order is paid and the service opened a refund dispute
   *   (`CANCEL_AFTER_PAYMENT=dispute`). It is not cancelled until CJ refunds it, and CJ
   *   may still ship it, so Medusa keeps the fulfillment: cancel again after the refund.
   * - 503: CJ could not be asked; nothing changed.
   */
  async cancelFulfillment(data: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = typeof data?.id === "string" && data.id ? data.id : undefined
    if (!id) {
      this.logger_.warn(
        "medusa-fulfillment-cj: cancelling a fulfillment that has no cj-fulfillment id; nothing was sent to CJ"
      )
      return { ...(data ?? {}) }
    }
    let res: JsonResponse<unknown>
    try {
      res = await this.client_.post(`/v1/fulfillments/${encodeURIComponent(id)}/cancel`, undefined, this.options_.timeoutMs)
    } catch (err) {
      throw toMedusaError(err, "cancelling the CJ order")
    }
    const body = isRecord(res.body) ? res.body : {}
    if (res.status === 202) {
      const dispute = typeof body.dispute_id === "string" && body.dispute_id ? ` ${body.dispute_id}` : ""
      const order = typeof body.cj_order_id === "string" && body.cj_order_id ? ` ${body.cj_order_id}` : ""
      throw new MedusaError(
        MedusaError.Types.NOT_ALLOWED,
        `CJ order${order} is already paid: a refund dispute${dispute} is now open at CJ. ` +
          "The CJ order is cancelled only when CJ refunds it, so this fulfillment stays; cancel it again after the refund.",
        "refund-dispute-open"
      )
    }
    const status = typeof body.status === "string" ? body.status : "cancelled"
    return { ...data, status }
  }

  /**
   * Returns are not automated: CJ has no return API that fits Medusa's flow. Medusa needs
   * `{ data, labels }`; this records that the return is handled by hand and makes no call.
   */
  async createReturnFulfillment(fulfillment: Record<string, unknown>): Promise<CreateFulfillmentResult> {
    const id = typeof fulfillment?.id === "string" ? fulfillment.id : "(unknown)"
    this.logger_.info(`medusa-fulfillment-cj: return fulfillment ${id} is handled manually (no CJ call)`)
    return {
      data: { handled_by: "manual", provider: "cj", note: MANUAL_RETURN_NOTE },
      labels: [],
    }
  }

  // ---------------------------------------------------------------- documents (not used by core)

  async getFulfillmentDocuments(_data: Record<string, unknown>): Promise<never[]> {
    return []
  }

  async getReturnDocuments(_data: Record<string, unknown>): Promise<never[]> {
    return []
  }

  async getShipmentDocuments(_data: Record<string, unknown>): Promise<never[]> {
    return []
  }

  /**
   * No documents either. Medusa's base class types this `Promise<void>` while
   * `IFulfillmentProvider` (what callers see) types it `Promise<any>`; it resolves to an
   * empty list like the three methods above.
   */
  async retrieveDocuments(_fulfillmentData: Record<string, unknown>, _documentType: string): Promise<void> {
    const none: never[] = []
    return none as unknown as void
  }

  // ---------------------------------------------------------------- helpers

  private async listOptions(): Promise<CjFulfillmentOption[]> {
    let body: unknown
    try {
      body = (await this.client_.get("/v1/fulfillment-options", this.options_.timeoutMs)).body
    } catch (err) {
      throw toMedusaError(err, "listing the fulfillment options")
    }
    const raw = isRecord(body) && Array.isArray(body.options) ? body.options : undefined
    if (!raw) {
      throw new MedusaError(
        MedusaError.Types.UNEXPECTED_STATE,
        "cj-fulfillment answered GET /v1/fulfillment-options without an `options` list"
      )
    }
    return raw.filter(isRecord).flatMap((o): CjFulfillmentOption[] => {
      if (typeof o.id !== "string" || !o.id) {
        return []
      }
      // The whole object becomes ShippingOption.data when the admin picks it.
      return [{ ...o, id: o.id, name: typeof o.name === "string" && o.name ? o.name : o.id, is_return: false }]
    })
  }

  private optionIdOf(optionData: Record<string, unknown> | undefined): string {
    const id = optionData?.id
    if (typeof id !== "string" || !id) {
      throw new MedusaError(
        MedusaError.Types.INVALID_DATA,
        "This shipping option has no CJ option id in its data; recreate it from the CJ provider's options"
      )
    }
    return id
  }

  /**
   * The CJ option of a fulfillment. The order's shipping method carries it
   * (`ShippingMethod.data.option_id`, from validateFulfillmentData). When the admin
   * fulfils through a CJ shipping option that is not the order's method, Medusa passes
   * `data: {}`; the option is then the one the fulfillment names, whose `data.id` is the
   * CJ option id (read from the Fulfillment Module's shipping options).
   */
  private async fulfillmentOptionIdOf(
    data: Record<string, unknown> | undefined,
    order: Partial<FulfillmentOrderDTO>,
    fulfillment: FulfillmentInput
  ): Promise<string> {
    const fromData = data?.option_id ?? data?.id
    if (typeof fromData === "string" && fromData) {
      return fromData
    }
    const shippingOptionId = fulfillment.shipping_option_id ?? undefined
    const methods = Array.isArray((order as { shipping_methods?: unknown }).shipping_methods)
      ? ((order as { shipping_methods: unknown[] }).shipping_methods.filter(isRecord))
      : []
    const method = methods.find((m) => m.shipping_option_id === shippingOptionId)
    const fromMethod = stringField(recordField(method, "data"), "option_id")
    if (fromMethod) {
      return fromMethod
    }
    if (shippingOptionId) {
      const fromOption = stringField(await this.shippingOptionDataOf(shippingOptionId), "id")
      if (fromOption) {
        return fromOption
      }
    }
    throw new MedusaError(
      MedusaError.Types.INVALID_DATA,
      `The shipping option ${shippingOptionId ?? "(none)"} of this fulfillment has no CJ option id ` +
        "(data.id); recreate it from the CJ provider's fulfillment options"
    )
  }

  private async shippingOptionDataOf(id: string): Promise<Record<string, unknown> | undefined> {
    let reader: ShippingOptionReader | undefined
    try {
      // Awilix's cradle throws for a name it does not hold (outside the module).
      reader = (this.container_ as { shippingOptionService?: ShippingOptionReader }).shippingOptionService
    } catch {
      reader = undefined
    }
    if (!reader) {
      return undefined
    }
    const option = await reader.retrieve(id, { select: ["id", "data"] }).catch(() => undefined)
    return isRecord(option?.data) ? option.data : undefined
  }

  private destinationOf(address: Partial<CartAddressDTO> | null | undefined): Record<string, string> {
    const country = address?.country_code?.trim()
    if (!country) {
      throw new MedusaError(
        MedusaError.Types.INVALID_DATA,
        "Cannot price shipping before the cart has a shipping address with a country"
      )
    }
    const destination: Record<string, string> = { country_code: country.toUpperCase() }
    const optional: [string, string | undefined][] = [
      ["province", address?.province],
      ["city", address?.city],
      ["zip", address?.postal_code],
    ]
    for (const [key, value] of optional) {
      const v = value?.trim()
      if (v) {
        destination[key] = v
      }
    }
    return destination
  }

  /**
   * The lines to price. Medusa's own rule (core-flows `prepareLineItemData`): an item
   * ships when it says so or its product has a shipping profile. Draft orders and order
   * edits store `requires_shipping: false` for a variant without managed inventory
   * (usual in dropshipping: CJ holds the stock) although its product has a profile, and
   * Medusa fulfils it all the same; so only an item that says false and has no profile
   * (a gift card, a download) is left out.
   */
  private rateItemsOf(items: RateItem[]): { sku: string; quantity: number }[] {
    const result: { sku: string; quantity: number }[] = []
    for (const item of items) {
      const profile = recordField(recordField(item.variant, "product"), "shipping_profile")
      if (item.requires_shipping === false && !stringField(profile, "id")) {
        continue
      }
      const sku = stringField(item, "variant_sku") ?? stringField(item.variant, "sku")
      if (!sku) {
        throw new MedusaError(
          MedusaError.Types.INVALID_DATA,
          `Cannot price CJ shipping: "${String(item.title ?? item.id)}" has no SKU`
        )
      }
      result.push({ sku, quantity: toQuantity(item.quantity) })
    }
    if (!result.length) {
      throw new MedusaError(MedusaError.Types.INVALID_DATA, "Cannot price CJ shipping for a cart with no items to ship")
    }
    return result
  }

  private amountFromRates(body: unknown, optionId: string, currency: string): number {
    const rates = isRecord(body) && Array.isArray(body.rates) ? body.rates.filter(isRecord) : []
    const rate = rates.find((r) => r.option_id === optionId)
    if (!rate) {
      throw new MedusaError(
        MedusaError.Types.UNEXPECTED_STATE,
        `cj-fulfillment returned no rate for option ${optionId}`
      )
    }
    if (typeof rate.currency !== "string" || rate.currency.toLowerCase() !== currency.toLowerCase()) {
      throw new MedusaError(
        MedusaError.Types.UNEXPECTED_STATE,
        `cj-fulfillment quoted option ${optionId} in ${String(rate.currency)}, not in the cart's currency ${currency}`
      )
    }
    // The contract says a decimal string; never trust a float for money.
    const amount = typeof rate.amount === "string" ? parseAmount(rate.amount) : undefined
    if (amount === undefined) {
      throw new MedusaError(
        MedusaError.Types.UNEXPECTED_STATE,
        `cj-fulfillment returned an invalid amount for option ${optionId}: ${JSON.stringify(rate.amount)}`
      )
    }
    if (rate.source === "stale" || rate.source === "static") {
      this.logger_.debug(`medusa-fulfillment-cj: option ${optionId} priced from a ${rate.source} rate`)
    }
    return amount
  }

  private fallbackAmount(optionId: string, currency: string): number | undefined {
    return this.options_.fallbackAmounts.get(optionId)?.get(currency.toLowerCase())
  }

  /**
   * POSTs with an Idempotency-Key, so repeating it is safe: the same key and body replay
   * the first answer. An outage (timeout, connection error, 5xx) is retried once; a 409
   * "still being processed" (our own timed-out first attempt is still running at the
   * service) is retried after its Retry-After, at most twice.
   */
  private async postIdempotent(path: string, body: unknown, key: string): Promise<JsonResponse<unknown>> {
    const headers = { "idempotency-key": key }
    let outageRetries = 1
    let inProgressRetries = 2
    for (;;) {
      try {
        return await this.client_.post(path, body, this.options_.timeoutMs, headers)
      } catch (err) {
        let waitMs: number
        if (isUnavailable(err) && outageRetries > 0) {
          outageRetries -= 1
          waitMs = 0
        } else if (isInProgress(err) && inProgressRetries > 0) {
          inProgressRetries -= 1
          waitMs = Math.min(err.retryAfterSeconds ?? 1, MAX_RETRY_AFTER_SECONDS) * 1000
        } else {
          throw err
        }
        this.logger_.warn(`medusa-fulfillment-cj: ${(err as Error).message}; retrying with the same Idempotency-Key`)
        await new Promise((resolve) => setTimeout(resolve, waitMs))
      }
    }
  }

  private shippingAddressOf(fulfillment: FulfillmentInput, order: Partial<FulfillmentOrderDTO>) {
    const delivery = fulfillment.delivery_address
    const fromOrder = order.shipping_address
    const pick = (key: "first_name" | "last_name" | "phone" | "address_1" | "address_2" | "city" | "province" | "country_code" | "postal_code" | "company"): string | undefined => {
      const v = delivery?.[key] ?? fromOrder?.[key]
      return typeof v === "string" && v.trim() ? v.trim() : undefined
    }
    const name = [pick("first_name"), pick("last_name")].filter(Boolean).join(" ") || pick("company")
    const country = pick("country_code")
    const address1 = pick("address_1")
    const city = pick("city")
    if (!name || !country || !address1 || !city) {
      throw new MedusaError(
        MedusaError.Types.INVALID_DATA,
        "CJ needs a delivery address with a name, first address line, city and country"
      )
    }
    const email = order.email ?? stringField(recordField(order, "customer"), "email")
    return dropUndefined({
      name,
      phone: pick("phone"),
      email: email || undefined,
      address1,
      address2: pick("address_2"),
      city,
      province: pick("province") ?? "",
      country_code: country.toUpperCase(),
      zip: pick("postal_code"),
    })
  }

  /**
   * Medusa creates one fulfillment item per inventory item: a variant made of several
   * inventory items (a kit) gives several rows, each with `required_quantity × quantity`.
   * CJ ships variants, so rows are folded back to one line per order line item, with the
   * variant's SKU and the line item quantity.
   */
  private fulfillmentItemsOf(items: FulfillmentItemInput[], order: Partial<FulfillmentOrderDTO>) {
    const orderItems = new Map<string, Record<string, unknown>>()
    for (const oi of order.items ?? []) {
      orderItems.set(oi.id, oi as unknown as Record<string, unknown>)
    }
    const lines: {
      line_item_id: string
      sku: string
      quantity: number
      fulfilled_quantity: number
      pod_properties?: unknown[]
    }[] = []
    const seen = new Set<string>()
    for (const item of items ?? []) {
      const lineItemId = item.line_item_id
      if (!lineItemId) {
        throw new MedusaError(
          MedusaError.Types.INVALID_DATA,
          `Fulfillment item "${item.title ?? item.id}" has no order line item; CJ fulfillments need one`
        )
      }
      if (seen.has(lineItemId)) {
        continue
      }
      seen.add(lineItemId)
      const orderItem = orderItems.get(lineItemId)
      const variant = recordField(orderItem, "variant")
      const sku = stringField(orderItem, "variant_sku") ?? stringField(variant, "sku") ?? (item.sku || undefined)
      if (!sku) {
        throw new MedusaError(
          MedusaError.Types.INVALID_DATA,
          `"${item.title ?? lineItemId}" has no SKU; CJ needs the variant SKU (or a SKU mapping in cj-fulfillment)`
        )
      }
      let quantity = toQuantity(item.quantity)
      const inventoryItems = Array.isArray(variant?.inventory_items) ? variant.inventory_items.filter(isRecord) : []
      const link = inventoryItems.find(
        (ii) => ii.inventory_item_id === item.inventory_item_id || recordField(ii, "inventory")?.id === item.inventory_item_id
      )
      const required = link ? toQuantity(link.required_quantity ?? 1) : 1
      if (item.inventory_item_id && required > 1) {
        quantity = quantity / required
      }
      lines.push(
        dropUndefined({
          line_item_id: lineItemId,
          sku,
          quantity,
          fulfilled_quantity: fulfilledQuantityOf(orderItem),
          pod_properties: podPropertiesOf(orderItem),
        })
      )
    }
    if (!lines.length) {
      throw new MedusaError(MedusaError.Types.INVALID_DATA, "A CJ fulfillment needs at least one item")
    }
    return lines
  }

  private fulfillmentOf(body: unknown): CjFulfillment {
    if (!isRecord(body) || typeof body.id !== "string" || typeof body.status !== "string") {
      throw new MedusaError(
        MedusaError.Types.UNEXPECTED_STATE,
        "cj-fulfillment accepted the fulfillment but its answer has no id/status"
      )
    }
    return body as unknown as CjFulfillment
  }

  private dataOf(body: CjFulfillment): CjFulfillmentData {
    return {
      id: body.id,
      status: body.status,
      cj_order_id: body.cj_order_id ?? null,
      cj_order_number: body.cj_order_number ?? null,
      option_id: body.option_id ?? null,
      external_id: body.external_id ?? null,
    }
  }

  private labelsOf(body: CjFulfillment): Label[] {
    const tracking = Array.isArray(body.tracking) ? body.tracking : []
    return tracking.flatMap((t): Label[] => {
      const number = typeof t?.number === "string" ? t.number.trim() : ""
      if (!number) {
        return []
      }
      return [{ tracking_number: number, tracking_url: typeof t.url === "string" ? t.url : "", label_url: "" }]
    })
  }
}

/** A 409 that says "the same Idempotency-Key is still being processed, retry after N s". */
function isInProgress(err: unknown): err is CjHttpError {
  return err instanceof CjHttpError && err.status === 409 && err.retryAfterSeconds !== undefined
}

function toQuantity(value: unknown): number {
  let n: number
  if (typeof value === "number") {
    n = value
  } else if (typeof value === "string") {
    n = Number(value)
  } else if (isRecord(value) && typeof value.numeric === "number") {
    n = value.numeric
  } else if (value !== null && typeof value === "object" && typeof (value as { valueOf(): unknown }).valueOf() === "number") {
    n = (value as { valueOf(): number }).valueOf()
  } else {
    n = NaN
  }
  if (!Number.isFinite(n) || n <= 0) {
    throw new MedusaError(MedusaError.Types.INVALID_DATA, `Invalid item quantity: ${JSON.stringify(value)}`)
  }
  return n
}

/** An item as the pricing context carries it (cart line, order line, draft preview line). */
type RateItem = Record<string, unknown> & {
  id?: unknown
  title?: unknown
  quantity?: unknown
  requires_shipping?: unknown
  variant?: unknown
}

/** The currency Medusa prices in: the cart's, else the order's or region's (hook-provided). */
function currencyOf(context: unknown): string {
  const candidates = [
    stringField(context, "currency_code"),
    stringField(recordField(context, "order"), "currency_code"),
    stringField(recordField(context, "cart"), "currency_code"),
    stringField(recordField(context, "region"), "currency_code"),
  ]
  return candidates.find((c) => c !== undefined) ?? ""
}

/** Carts have ids `cart_…`; draft orders, edits, claims, exchanges and returns are orders. */
function isCartContext(context: unknown): boolean {
  const id = stringField(context, "id")
  const rma = FLOW_ITEM_KEYS.some((key) => isRecord(context) && context[key] !== undefined)
  return !rma && id !== undefined && id.startsWith("cart_")
}

/**
 * The address to price for: the cart's or draft order's, else the order's that this
 * package's hook adds as `cj_shipping_address` (claims, exchanges and returns get an
 * order whose `shipping_address` has no fields).
 */
function shippingAddressOf(context: unknown): Partial<CartAddressDTO> | undefined {
  const own = recordField(context, "shipping_address")
  return stringField(own, "country_code") ? own : (recordField(context, "cj_shipping_address") ?? own)
}

/**
 * The items a flow ships: a claim's, exchange's or return's own list (`{ id, quantity }`
 * by order line item id, looked up for the SKU in the order's items and in the new lines
 * this package's hook adds as `cj_items`), else all the context's items.
 */
function flowItemsOf(context: unknown): RateItem[] {
  const listOf = (key: string) =>
    (isRecord(context) && Array.isArray(context[key]) ? (context[key] as unknown[]) : []).filter(isRecord) as RateItem[]
  const all = listOf("items")
  const known = [...all, ...listOf("cj_items")]
  for (const key of FLOW_ITEM_KEYS) {
    const listed = isRecord(context) ? context[key] : undefined
    if (!Array.isArray(listed)) {
      continue
    }
    const byId = new Map(known.map((item) => [item.id, item]))
    return listed.filter(isRecord).map((entry): RateItem => {
      const item = byId.get(entry.id)
      if (!item) {
        throw new MedusaError(
          MedusaError.Types.INVALID_DATA,
          `Cannot price CJ shipping: ${key} names ${String(entry.id)}, which is not an item of the order ` +
            "(set a custom shipping amount for it)"
        )
      }
      return { ...item, quantity: entry.quantity, requires_shipping: true }
    })
  }
  return all
}

/**
 * Print on demand: CJ's podProperties entries from the line item's `metadata.pod_properties`
 * (a list, or its JSON text as CJ writes it); the service checks them.
 */
function podPropertiesOf(orderItem: Record<string, unknown> | undefined): unknown[] | undefined {
  let raw = recordField(orderItem, "metadata")?.pod_properties
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw)
    } catch {
      throw new MedusaError(
        MedusaError.Types.INVALID_DATA,
        `The metadata.pod_properties of line item ${String(orderItem?.id)} is not JSON`
      )
    }
  }
  return Array.isArray(raw) && raw.length ? raw : undefined
}

/** Medusa's order item `fulfilled_quantity` (on the item or its `detail`; a BigNumber). */
function fulfilledQuantityOf(orderItem: Record<string, unknown> | undefined): number {
  const raw = orderItem?.fulfilled_quantity ?? recordField(orderItem, "detail")?.fulfilled_quantity
  if (raw === undefined || raw === null) {
    return 0
  }
  const n = typeof raw === "number" ? raw : Number(isRecord(raw) && "numeric" in raw ? raw.numeric : String(raw))
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0
}

function recordField(obj: unknown, key: string): Record<string, unknown> | undefined {
  if (!isRecord(obj)) {
    return undefined
  }
  const v = obj[key]
  return isRecord(v) ? v : undefined
}

function stringField(obj: unknown, key: string): string | undefined {
  if (!isRecord(obj)) {
    return undefined
  }
  const v = obj[key]
  return typeof v === "string" && v.trim() ? v.trim() : undefined
}

function dropUndefined<T extends Record<string, unknown>>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T
}

export default CjFulfillmentProviderService
