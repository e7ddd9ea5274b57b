/**
 * Turns a failed call to cj-fulfillment into the MedusaError that Medusa shows: at
 * checkout (pricing) to the customer, in the admin (orders, cancels) to the merchant.
 *
 * Medusa's HTTP error handler answers INVALID_DATA and NOT_ALLOWED with 400 and
 * UNEXPECTED_STATE with 500, keeping the message in both; the problem type of the
 * service's answer (`unknown-sku`, `destination-not-served`, …) becomes the error's
 * `code`, so a storefront can tell the cases apart without parsing the message.
 */
import { MedusaError } from "@medusajs/framework/utils"

import { CjHttpError, CjTransportError } from "./client"

/** The problem types of the service's 422 answers that this provider words itself. */
export const ProblemTypes = {
  destinationNotServed: "destination-not-served",
  unknownSku: "unknown-sku",
  unknownVariant: "unknown-variant",
  cannotShip: "cannot-ship",
  unknownCurrency: "unknown-currency",
  unknownOption: "unknown-option",
  fulfillmentFailed: "fulfillment-failed",
} as const

/** True when the service could not be reached or failed (timeout, connection error, 5xx). */
export function isUnavailable(err: unknown): boolean {
  return err instanceof CjTransportError || (err instanceof CjHttpError && err.status >= 500)
}

/** Maps a failure of a call made while `action` (e.g. "pricing shipping") to a MedusaError. */
export function toMedusaError(err: unknown, action: string): MedusaError {
  if (err instanceof MedusaError) {
    return err
  }
  if (err instanceof CjHttpError) {
    return fromHttpError(err, action)
  }
  const message = err instanceof Error ? err.message : String(err)
  return new MedusaError(MedusaError.Types.UNEXPECTED_STATE, `${message} (while ${action})`)
}

function fromHttpError(err: CjHttpError, action: string): MedusaError {
  const code = err.problemType || undefined
  const error = (type: string, message: string) => new MedusaError(type, message, code)
  switch (err.status) {
    case 400:
      return error(MedusaError.Types.INVALID_DATA, err.message)
    case 422:
      return fromUnprocessable(err, error)
    case 404:
      return error(MedusaError.Types.NOT_FOUND, err.message)
    case 409:
      return error(MedusaError.Types.NOT_ALLOWED, err.message)
    case 401:
    case 403:
      return error(
        MedusaError.Types.UNEXPECTED_STATE,
        `cj-fulfillment refused the provider's API key while ${action} (HTTP ${err.status}): ` +
          "check the provider option apiKey against the service's SERVICE_API_KEYS"
      )
    case 503:
      return error(
        MedusaError.Types.UNEXPECTED_STATE,
        `CJ could not be reached while ${action}; nothing was changed, try again shortly. (${err.message})`
      )
    default:
      return error(
        MedusaError.Types.UNEXPECTED_STATE,
        `cj-fulfillment failed while ${action} (HTTP ${err.status}): ${err.message}${requestIdOf(err)}`
      )
  }
}

function fromUnprocessable(err: CjHttpError, error: (type: string, message: string) => MedusaError): MedusaError {
  const problem = err.problem ?? {}
  switch (err.problemType) {
    case ProblemTypes.destinationNotServed: {
      const country = typeof problem.country_code === "string" ? problem.country_code.toUpperCase() : "this address"
      return error(MedusaError.Types.NOT_ALLOWED, `CJ shipping does not deliver to ${country}: ${err.message}`)
    }
    case ProblemTypes.cannotShip:
      return error(MedusaError.Types.NOT_ALLOWED, `CJ cannot ship this cart: ${err.message}`)
    case ProblemTypes.unknownSku: {
      const skus = Array.isArray(problem.unknown_skus)
        ? problem.unknown_skus.filter((s): s is string => typeof s === "string")
        : []
      const named = skus.length ? skus.join(", ") : "some items"
      return error(
        MedusaError.Types.INVALID_DATA,
        `CJ cannot ship ${named} yet: no CJ variant is mapped to ${skus.length === 1 ? "this SKU" : "these SKUs"}. ` +
          "Import the SKU mappings into cj-fulfillment (`cj-fulfillment skus import`)."
      )
    }
    case ProblemTypes.unknownCurrency: {
      const currency = typeof problem.currency === "string" ? problem.currency.toUpperCase() : "this currency"
      return error(MedusaError.Types.INVALID_DATA, `CJ shipping cannot be priced in ${currency}: ${err.message}`)
    }
    case ProblemTypes.unknownOption:
      return error(
        MedusaError.Types.INVALID_DATA,
        `${err.message} Recreate the shipping option from the CJ provider's fulfillment options.`
      )
    case ProblemTypes.fulfillmentFailed: {
      const reason = /^CJ refused/i.test(err.message) ? err.message : `CJ refused the order: ${err.message}`
      return error(MedusaError.Types.NOT_ALLOWED, `${reason}${failedFulfillmentOf(problem)}`)
    }
    default:
      return error(MedusaError.Types.INVALID_DATA, err.message)
  }
}

/** " (cj-fulfillment ful_… is failed)" when the 422 carries the stored fulfillment. */
function failedFulfillmentOf(problem: Record<string, unknown>): string {
  const fulfillment = problem.fulfillment
  if (typeof fulfillment === "object" && fulfillment !== null && "id" in fulfillment) {
    const id = (fulfillment as { id: unknown }).id
    if (typeof id === "string" && id) {
      return ` (cj-fulfillment ${id} is failed; fix the cause and create a new fulfillment)`
    }
  }
  return ""
}

function requestIdOf(err: CjHttpError): string {
  const id = err.problem?.request_id
  return typeof id === "string" && id ? ` [request ${id}]` : ""
}
