import { MedusaError } from "@medusajs/framework/utils"

/** An amount in MAJOR units of a currency (10.5 = 10.50), as a number or a decimal string. */
export type MajorAmount = number | string

/**
 * Options of the provider, set in `medusa-config.ts`
 * (`modules → fulfillment → providers → { resolve: "medusa-fulfillment-cj", id: "cj", options }`).
 */
export interface CjProviderOptions {
  /** Base URL of the cj-fulfillment service, e.g. `https://cj.example.com` (no `/v1`). */
  baseUrl: string
  /** One of the service's `SERVICE_API_KEYS`; sent as `Authorization: Bearer <apiKey>`. */
  apiKey: string
  /** Deadline for every call except pricing, in ms. Default 5000. */
  timeoutMs?: number
  /**
   * Deadline for `POST /v1/rates`, in ms. Default 2500. Medusa prices every calculated
   * option on every cart refresh, in parallel, and a slow answer slows the storefront.
   */
  rateTimeoutMs?: number
  /**
   * Last-resort prices, per fulfillment option id, used ONLY when the service cannot be
   * reached while pricing (connection error, timeout, HTTP 5xx). Never used for a 4xx:
   * "destination not served" stays an error. One amount per currency code, e.g.
   * `{ "us-standard": { usd: 7.95, cad: 10.9 } }`: a cart in a currency with no amount
   * gets no fallback (Medusa then drops the CJ method from the cart). Must be greater
   * than 0: a fallback never makes shipping free.
   */
  fallbackAmounts?: Record<string, Record<string, MajorAmount>>
}

export interface ResolvedOptions {
  baseUrl: string
  apiKey: string
  timeoutMs: number
  rateTimeoutMs: number
  /** option id → lowercase currency code → amount */
  fallbackAmounts: Map<string, Map<string, number>>
}

export const DEFAULT_TIMEOUT_MS = 5000
export const DEFAULT_RATE_TIMEOUT_MS = 2500

const DECIMAL = /^\d+(\.\d+)?$/

/** Parses a non-negative major-unit amount; undefined when it is not one. */
export function parseAmount(value: unknown): number | undefined {
  if (typeof value === "number") {
    return Number.isFinite(value) && value >= 0 ? value : undefined
  }
  if (typeof value === "string" && DECIMAL.test(value.trim())) {
    return Number(value.trim())
  }
  return undefined
}

function invalid(message: string): MedusaError {
  return new MedusaError(MedusaError.Types.INVALID_DATA, `medusa-fulfillment-cj: ${message}`)
}

function positiveAmount(value: unknown, where: string): number {
  const amount = parseAmount(value)
  if (amount === undefined || amount <= 0) {
    throw invalid(`${where} must be an amount greater than 0 in major units (got ${JSON.stringify(value)})`)
  }
  return amount
}

function timeout(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === null) {
    return fallback
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw invalid(`${name} must be a positive whole number of milliseconds (got ${JSON.stringify(value)})`)
  }
  return value
}

/** Checks the options from medusa-config and fills in the defaults; throws a MedusaError when wrong. */
export function resolveOptions(raw: unknown): ResolvedOptions {
  const opts = (raw ?? {}) as Partial<Record<keyof CjProviderOptions, unknown>>
  if (typeof opts !== "object") {
    throw invalid("options must be an object")
  }

  if (typeof opts.baseUrl !== "string" || opts.baseUrl.trim() === "") {
    throw invalid("option `baseUrl` is required (the cj-fulfillment service URL)")
  }
  let url: URL
  try {
    url = new URL(opts.baseUrl.trim())
  } catch {
    throw invalid(`option \`baseUrl\` is not a URL: ${JSON.stringify(opts.baseUrl)}`)
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw invalid(`option \`baseUrl\` must be http(s): ${JSON.stringify(opts.baseUrl)}`)
  }
  if (typeof opts.apiKey !== "string" || opts.apiKey.trim() === "") {
    throw invalid("option `apiKey` is required (one of the service's SERVICE_API_KEYS)")
  }

  const fallbackAmounts = new Map<string, Map<string, number>>()
  const rawFallbacks = opts.fallbackAmounts
  if (rawFallbacks !== undefined && rawFallbacks !== null) {
    if (typeof rawFallbacks !== "object" || Array.isArray(rawFallbacks)) {
      throw invalid("option `fallbackAmounts` must map option ids to amounts")
    }
    for (const [optionId, value] of Object.entries(rawFallbacks as Record<string, unknown>)) {
      const perCurrency = new Map<string, number>()
      if (typeof value === "object" && value !== null && !Array.isArray(value)) {
        for (const [currency, amount] of Object.entries(value as Record<string, unknown>)) {
          perCurrency.set(
            currency.toLowerCase(),
            positiveAmount(amount, `fallbackAmounts["${optionId}"]["${currency}"]`)
          )
        }
      } else {
        // One number for every currency would charge 7.95 as ¥7.95 on a JPY cart.
        throw invalid(
          `fallbackAmounts["${optionId}"] must name its currencies, e.g. { "usd": 7.95 } ` +
            `(got ${JSON.stringify(value)})`
        )
      }
      fallbackAmounts.set(optionId, perCurrency)
    }
  }

  return {
    baseUrl: url.toString().replace(/\/+$/, ""),
    apiKey: opts.apiKey.trim(),
    timeoutMs: timeout(opts.timeoutMs, "timeoutMs", DEFAULT_TIMEOUT_MS),
    rateTimeoutMs: timeout(opts.rateTimeoutMs, "rateTimeoutMs", DEFAULT_RATE_TIMEOUT_MS),
    fallbackAmounts,
  }
}
