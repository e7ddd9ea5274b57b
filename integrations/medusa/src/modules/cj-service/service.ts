import { CjHttpError, CjServiceClient, isRecord } from "../../providers/cj/client"
import { resolveOptions, type CjProviderOptions } from "../../providers/cj/options"
import type { RetryResult, ServiceEvent, ServiceFulfillment } from "../../lib/views"

const PACKAGE_VERSION = "0.1.0"

/** Plugin options: the same `baseUrl`, `apiKey` and `timeoutMs` as the provider's. */
export type CjPluginOptions = Pick<CjProviderOptions, "baseUrl" | "apiKey" | "timeoutMs">

export default class CjServiceModuleService {
  protected readonly client_: CjServiceClient
  protected readonly timeoutMs_: number

  constructor(_container: Record<string, unknown>, options: CjPluginOptions) {
    const resolved = resolveOptions(options)
    this.timeoutMs_ = resolved.timeoutMs
    this.client_ = new CjServiceClient({
      baseUrl: resolved.baseUrl,
      apiKey: resolved.apiKey,
      userAgent: `medusa-fulfillment-cj/${PACKAGE_VERSION} (plugin)`,
    })
  }

  async fulfillmentsOfOrder(orderId: string): Promise<ServiceFulfillment[]> {
    const res = await this.client_.get(
      `/v1/fulfillments?order_id=${encodeURIComponent(orderId)}`,
      this.timeoutMs_
    )
    const body = res.body as { fulfillments?: ServiceFulfillment[] } | undefined
    return Array.isArray(body?.fulfillments) ? body.fulfillments : []
  }

  async events(fulfillmentId: string): Promise<ServiceEvent[]> {
    const res = await this.client_.get(
      `/v1/fulfillments/${encodeURIComponent(fulfillmentId)}/events`,
      this.timeoutMs_
    )
    const body = res.body as { events?: ServiceEvent[] } | undefined
    return Array.isArray(body?.events) ? body.events : []
  }

  /**
   * `POST /v1/fulfillments/{id}/retry`. A refusal by CJ (422) is a result, not an error;
   * any other failure (409 not pending, 404, unreachable) is thrown as the client's error.
   */
  async retry(fulfillmentId: string): Promise<RetryResult> {
    try {
      const res = await this.client_.post(`/v1/fulfillments/${encodeURIComponent(fulfillmentId)}/retry`, {}, this.timeoutMs_)
      const fulfillment = res.body as ServiceFulfillment
      return { outcome: res.status === 201 ? "placed" : "queued", fulfillment }
    } catch (err) {
      if (err instanceof CjHttpError && err.status === 422 && isRecord(err.problem?.fulfillment)) {
        return { outcome: "failed", fulfillment: err.problem.fulfillment as unknown as ServiceFulfillment, message: err.message }
      }
      throw err
    }
  }
}
