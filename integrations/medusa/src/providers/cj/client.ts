/**
 * A small HTTP client for the cj-fulfillment service (HTTP contract v1).
 *
 * It uses the global `fetch` (Node >= 20) with an AbortController per call, so every
 * request has a hard deadline. Failures come back as one of two error classes:
 * - `CjTransportError`: the service could not be reached or did not answer in time
 *   (connection refused, reset, DNS, timeout) or answered with something that is not
 *   the JSON it should be.
 * - `CjHttpError`: the service answered with a non-2xx status; `problem` holds the RFC 9457
 *   `application/problem+json` body when there is one.
 */

export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  errors?: unknown[]
  [k: string]: unknown
}

export class CjTransportError extends Error {
  readonly timedOut: boolean

  constructor(message: string, timedOut: boolean, options?: { cause?: unknown }) {
    super(message, options)
    this.name = "CjTransportError"
    this.timedOut = timedOut
  }
}

export class CjHttpError extends Error {
  readonly status: number
  readonly problem: Problem | undefined
  /** The `Retry-After` header in seconds, when the service sent one. */
  readonly retryAfterSeconds: number | undefined

  constructor(status: number, problem: Problem | undefined, fallbackText: string, retryAfterSeconds?: number) {
    super(CjHttpError.describe(status, problem, fallbackText))
    this.name = "CjHttpError"
    this.status = status
    this.problem = problem
    this.retryAfterSeconds = retryAfterSeconds
  }

  /**
   * The last segment of the problem `type`
   * (`https://cj-fulfillment.dev/problems/unknown-sku` → `unknown-sku`), or "".
   */
  get problemType(): string {
    const type = typeof this.problem?.type === "string" ? this.problem.type : ""
    return type.replace(/\/+$/, "").split("/").pop() ?? ""
  }

  /**
   * The text to show a person: our `detail` (followed by the field errors of a
   * validation problem), else the `title`, else the status line.
   */
  static describe(status: number, problem: Problem | undefined, fallbackText: string): string {
    const detail = typeof problem?.detail === "string" ? problem.detail.trim() : ""
    const title = typeof problem?.title === "string" ? problem.title.trim() : ""
    const fieldErrors = CjHttpError.fieldErrors(problem)
    if (detail) {
      return fieldErrors ? `${detail} (${fieldErrors})` : detail
    }
    if (title) {
      return fieldErrors ? `${title}: ${fieldErrors}` : title
    }
    const text = fallbackText.trim().slice(0, 200)
    return text
      ? `cj-fulfillment answered HTTP ${status}: ${text}`
      : `cj-fulfillment answered HTTP ${status}`
  }

  private static fieldErrors(problem: Problem | undefined): string {
    if (!Array.isArray(problem?.errors)) {
      return ""
    }
    return problem.errors
      .map((e) => {
        if (e && typeof e === "object") {
          const rec = e as Record<string, unknown>
          const where = Array.isArray(rec.loc) ? rec.loc.join(".") : rec.field ?? rec.pointer
          const msg = rec.msg ?? rec.message ?? rec.detail
          return [where, msg].filter((x) => typeof x === "string" && x).join(": ")
        }
        return typeof e === "string" ? e : ""
      })
      .filter(Boolean)
      .join("; ")
  }
}

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
  timeoutMs: number
}

export interface JsonResponse<T> {
  status: number
  headers: Headers
  body: T
}

export interface CjClientConfig {
  baseUrl: string
  apiKey: string
  userAgent: string
}

export class CjServiceClient {
  private readonly baseUrl: string
  private readonly apiKey: string
  private readonly userAgent: string

  constructor(config: CjClientConfig) {
    this.baseUrl = config.baseUrl.replace(/\/+$/, "")
    this.apiKey = config.apiKey
    this.userAgent = config.userAgent
  }

  get(path: string, timeoutMs: number): Promise<JsonResponse<unknown>> {
    return this.request("GET", path, { timeoutMs })
  }

  post(
    path: string,
    body: unknown,
    timeoutMs: number,
    headers?: Record<string, string>
  ): Promise<JsonResponse<unknown>> {
    return this.request("POST", path, { body, timeoutMs, headers })
  }

  async request(method: string, path: string, opts: RequestOptions): Promise<JsonResponse<unknown>> {
    const url = `${this.baseUrl}${path}`
    const headers: Record<string, string> = {
      accept: "application/json, application/problem+json",
      authorization: `Bearer ${this.apiKey}`,
      "user-agent": this.userAgent,
      ...opts.headers,
    }
    let payload: string | undefined
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body)
      headers["content-type"] = "application/json"
    }

    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), opts.timeoutMs)
    try {
      let res: Response
      try {
        res = await fetch(url, { method, headers, body: payload, signal: controller.signal })
      } catch (err) {
        throw this.transportError(method, path, opts.timeoutMs, controller.signal.aborted, err)
      }

      let text: string
      try {
        // The deadline covers the body too: a server that sends headers and then stalls
        // is aborted by the same controller.
        text = await res.text()
      } catch (err) {
        throw this.transportError(method, path, opts.timeoutMs, controller.signal.aborted, err)
      }

      const parsed = parseJson(text)
      if (!res.ok) {
        const problem = isRecord(parsed) ? (parsed as Problem) : undefined
        throw new CjHttpError(res.status, problem, problem ? "" : text, retryAfter(res.headers))
      }
      if (text.trim() === "") {
        return { status: res.status, headers: res.headers, body: undefined }
      }
      if (parsed === undefined) {
        throw new CjTransportError(
          `cj-fulfillment answered ${method} ${path} with HTTP ${res.status} but the body is not JSON`,
          false
        )
      }
      return { status: res.status, headers: res.headers, body: parsed }
    } finally {
      clearTimeout(timer)
    }
  }

  private transportError(
    method: string,
    path: string,
    timeoutMs: number,
    aborted: boolean,
    cause: unknown
  ): CjTransportError {
    if (aborted) {
      return new CjTransportError(
        `cj-fulfillment did not answer ${method} ${path} within ${timeoutMs} ms`,
        true,
        { cause }
      )
    }
    const reason = describeCause(cause)
    return new CjTransportError(
      `cj-fulfillment is unreachable at ${this.baseUrl} (${method} ${path}): ${reason}`,
      false,
      { cause }
    )
  }
}

function describeCause(err: unknown): string {
  if (err instanceof Error) {
    const inner = (err as Error & { cause?: unknown }).cause
    if (inner instanceof Error && inner.message) {
      return inner.message
    }
    return err.message
  }
  return String(err)
}

/** `Retry-After` as seconds (only the delta-seconds form; the service sends no dates). */
function retryAfter(headers: Headers): number | undefined {
  const value = headers.get("retry-after")?.trim()
  return value && /^\d+$/.test(value) ? Number(value) : undefined
}

function parseJson(text: string): unknown {
  if (text.trim() === "") {
    return undefined
  }
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
}
