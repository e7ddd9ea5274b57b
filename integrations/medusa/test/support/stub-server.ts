/**
 * A real HTTP server on 127.0.0.1 (ephemeral port) that stands in for cj-fulfillment:
 * it answers canned replies per "METHOD /path" and records every request it gets.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  rawBody: string
  body: unknown
}

export interface Reply {
  status: number
  body?: unknown
  /** Sent as is instead of JSON(body). */
  raw?: string
  headers?: Record<string, string>
  /** Wait this long before answering (to test timeouts). */
  delayMs?: number
}

export type Route = Reply | Reply[] | ((req: RecordedRequest) => Reply | Promise<Reply>)

export interface Stub {
  url: string
  requests: RecordedRequest[]
  /** Replaces every route. An array of replies is answered in order; the last one repeats. */
  routes(routes: Record<string, Route>): void
  close(): Promise<void>
}

export function problem(status: number, detail: string, title = "Error", extra: Record<string, unknown> = {}): Reply {
  return {
    status,
    headers: { "content-type": "application/problem+json" },
    body: {
      type: `https://cj-fulfillment.dev/problems/test-${status}`,
      title,
      status,
      detail,
      ...extra,
    },
  }
}

/** A problem as cj-fulfillment sends it: `type` is https://cj-fulfillment.dev/problems/<slug>. */
export function serviceProblem(
  status: number,
  slug: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {}
): Reply {
  const reply = problem(status, detail, "Error", { type: `https://cj-fulfillment.dev/problems/${slug}`, ...extra })
  return { ...reply, headers: { ...reply.headers, ...headers } }
}

export async function startStub(initial: Record<string, Route> = {}): Promise<Stub> {
  let table = new Map<string, Route>(Object.entries(initial))
  const cursors = new Map<string, number>()
  const requests: RecordedRequest[] = []
  const timers = new Set<NodeJS.Timeout>()

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      void (async () => {
        const rawBody = Buffer.concat(chunks).toString("utf8")
        let body: unknown = undefined
        if (rawBody) {
          try {
            body = JSON.parse(rawBody)
          } catch {
            body = rawBody
          }
        }
        const url = new URL(req.url ?? "/", "http://stub")
        const recorded: RecordedRequest = {
          method: req.method ?? "GET",
          path: url.pathname + url.search,
          headers: req.headers,
          rawBody,
          body,
        }
        requests.push(recorded)
        const key = `${recorded.method} ${url.pathname}`
        const route = table.get(key)
        let reply: Reply
        if (route === undefined) {
          reply = problem(404, `stub has no route for ${key}`, "Not Found")
        } else if (typeof route === "function") {
          reply = await route(recorded)
        } else if (Array.isArray(route)) {
          const i = cursors.get(key) ?? 0
          cursors.set(key, i + 1)
          reply = route[Math.min(i, route.length - 1)]
        } else {
          reply = route
        }
        const send = () => {
          if (res.destroyed) {
            return
          }
          const payload = reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body))
          res.writeHead(reply.status, {
            "content-type": "application/json",
            ...reply.headers,
          })
          res.end(payload)
        }
        if (reply.delayMs) {
          const t = setTimeout(() => {
            timers.delete(t)
            send()
          }, reply.delayMs)
          timers.add(t)
        } else {
          send()
        }
      })()
    })
  })

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    routes(next) {
      table = new Map(Object.entries(next))
      cursors.clear()
      requests.length = 0
    },
    async close() {
      for (const t of timers) {
        clearTimeout(t)
      }
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
