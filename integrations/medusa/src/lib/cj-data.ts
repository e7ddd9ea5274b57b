import { z } from "@medusajs/framework/zod"

/**
 * What the service sends to keep a Medusa fulfillment's `data` current (its outbox, one
 * message per change): the CJ side of the fulfillment after the change. `id` is the
 * service's fulfillment id, the one the provider stored in `data.id`.
 */
export const CjDataUpdate = z.object({
  id: z.string().min(1),
  status: z.string().min(1),
  status_reason: z.string().nullish(),
  cj_order_id: z.string().nullish(),
  cj_order_number: z.string().nullish(),
  cj_status: z.string().nullish(),
  logistic_name: z.string().nullish(),
  tracking: z
    .array(z.object({ number: z.string().min(1), carrier: z.string().nullish(), url: z.string().nullish() }))
    .default([]),
  updated_at: z.string().datetime({ offset: true }),
})

export type CjDataUpdate = z.infer<typeof CjDataUpdate>

/** The keys of a fulfillment's `data` this plugin owns; every other key is kept as it is. */
export interface CjDataFields {
  id: string
  status: string
  status_reason: string | null
  cj_order_id: string | null
  cj_order_number: string | null
  cj_status: string | null
  logistic_name: string | null
  tracking: { number: string; carrier: string | null; url: string | null }[]
  updated_at: string
}

/** The provider ids this plugin's provider registers: `cj_<id>` (`cj_cj` with `id: "cj"`). */
export function isCjProvider(providerId: string | null | undefined): boolean {
  return typeof providerId === "string" && providerId.startsWith("cj_")
}

/**
 * `data` after `update`, or undefined when `data` already holds a newer state (outbox
 * messages can arrive out of order after a retry; the newest `updated_at` wins).
 */
export function mergeCjData(
  data: Record<string, unknown> | null | undefined,
  update: CjDataUpdate
): (Record<string, unknown> & CjDataFields) | undefined {
  const current = data ?? {}
  const storedAt = typeof current.updated_at === "string" ? Date.parse(current.updated_at) : NaN
  if (!Number.isNaN(storedAt) && storedAt > Date.parse(update.updated_at)) {
    return undefined
  }
  // CJ's ids never go away once known: an update without one keeps the stored one.
  const stored = (key: string): string | null => (typeof current[key] === "string" ? (current[key] as string) : null)
  return {
    ...current,
    id: update.id,
    status: update.status,
    status_reason: update.status_reason ?? null,
    cj_order_id: update.cj_order_id ?? stored("cj_order_id"),
    cj_order_number: update.cj_order_number ?? stored("cj_order_number"),
    cj_status: update.cj_status ?? null,
    logistic_name: update.logistic_name ?? null,
    tracking: update.tracking.map((t) => ({ number: t.number, carrier: t.carrier ?? null, url: t.url ?? null })),
    updated_at: update.updated_at,
  }
}
