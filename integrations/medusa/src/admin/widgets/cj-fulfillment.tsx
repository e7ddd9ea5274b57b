import { defineWidgetConfig } from "@medusajs/admin-sdk"
import type { AdminOrder, DetailWidgetProps } from "@medusajs/framework/types"
import { Button, Container, Heading, StatusBadge, Text } from "@medusajs/ui"
import { useCallback, useEffect, useState } from "react"

import { ApiError, cancelFulfillment, loadOrder, retryFulfillment, type OrderCjView } from "../lib/api"
import { cardModel, retryMessage, statusColor, trackingHref, type CardModel } from "../lib/view"

type Load = { state: "loading" } | { state: "error"; message: string } | { state: "ready"; view: OrderCjView }

function FulfillmentCard({
  card,
  busy,
  onCancel,
  onRetry,
}: {
  card: CardModel
  busy: boolean
  onCancel: (id: string) => void
  onRetry: (id: string) => void
}) {
  return (
    <div className="flex flex-col gap-y-2 px-6 py-4" data-testid="cj-fulfillment" data-fulfillment-id={card.id}>
      <div className="flex items-center justify-between">
        <Text size="small" weight="plus" className="font-mono">
          {card.id}
        </Text>
        <span data-testid="cj-status">
          <StatusBadge color={statusColor(card.status)}>{card.status}</StatusBadge>
        </span>
      </div>
      <Text size="small">
        CJ order id:{" "}
        <span className="font-mono" data-testid="cj-order-id">
          {card.cjOrderId ?? "not placed at CJ yet"}
        </span>
      </Text>
      {card.reason && (
        <Text size="small" className="text-ui-fg-error" data-testid="cj-reason">
          Reason: {card.reason}
        </Text>
      )}
      <div data-testid="cj-tracking">
        <Text size="small">Tracking: {card.tracking.length === 0 && "none yet"}</Text>
        <ul className="ml-4 list-disc">
          {card.tracking.map((t) => {
            const href = trackingHref(t)
            return (
              <li key={t.number}>
                <Text size="small" className="font-mono">
                  {href ? (
                    <a href={href} target="_blank" rel="noreferrer" className="text-ui-fg-interactive">
                      {t.number}
                    </a>
                  ) : (
                    t.number
                  )}
                  {t.carrier ? ` (${t.carrier})` : ""}
                </Text>
              </li>
            )
          })}
        </ul>
      </div>
      {card.events.length > 0 && (
        <details data-testid="cj-events">
          <summary>
            <Text size="small" className="inline">
              History ({card.events.length})
            </Text>
          </summary>
          <ol className="ml-4">
            {card.events.map((e, i) => (
              <li key={i}>
                <Text size="xsmall" className="text-ui-fg-subtle">
                  {new Date(e.at).toLocaleString()}: {e.from ?? "new"} → {e.to} ({e.source})
                </Text>
              </li>
            ))}
          </ol>
        </details>
      )}
      {!card.live && (
        <Text size="xsmall" className="text-ui-fg-subtle">
          Shown from Medusa's stored data: the service has no current view of it.
        </Text>
      )}
      {(card.canRetry || card.canCancel) && (
        <div className="flex gap-x-2">
          {card.canRetry && (
            <Button size="small" variant="secondary" disabled={busy} onClick={() => onRetry(card.id)}>
              Retry now
            </Button>
          )}
          {card.canCancel && (
            <Button size="small" variant="danger" disabled={busy} onClick={() => onCancel(card.id)}>
              Cancel at CJ
            </Button>
          )}
        </div>
      )}
    </div>
  )
}

const CjFulfillmentWidget = ({ data: order }: DetailWidgetProps<AdminOrder>) => {
  const [load, setLoad] = useState<Load>({ state: "loading" })
  const [busy, setBusy] = useState(false)
  const [actionError, setActionError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)

  const refresh = useCallback(async () => {
    try {
      setLoad({ state: "ready", view: await loadOrder(order.id) })
    } catch (err) {
      setLoad({ state: "error", message: err instanceof ApiError ? err.message : String(err) })
    }
  }, [order.id])

  useEffect(() => {
    void refresh()
  }, [refresh])

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true)
    setActionError(null)
    setNotice(null)
    try {
      const said = await action()
      if (typeof said === "string") {
        setNotice(said)
      }
    } catch (err) {
      setActionError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
      await refresh()
    }
  }

  if (load.state === "ready" && load.view.fulfillments.length === 0) {
    return null
  }
  return (
    <Container className="divide-y p-0" data-testid="cj-widget">
      <div className="flex items-center justify-between px-6 py-4">
        <Heading level="h2">CJ Dropshipping</Heading>
        <Button size="small" variant="transparent" onClick={() => void refresh()} disabled={busy}>
          Refresh
        </Button>
      </div>
      {load.state === "loading" && (
        <Text size="small" className="px-6 py-4" data-testid="cj-loading">
          Loading CJ fulfillments…
        </Text>
      )}
      {load.state === "error" && (
        <Text size="small" className="text-ui-fg-error px-6 py-4" data-testid="cj-error">
          Could not load the CJ fulfillments: {load.message}
        </Text>
      )}
      {load.state === "ready" && !load.view.service.reachable && (
        <Text size="small" className="text-ui-fg-error px-6 py-4" data-testid="cj-unreachable">
          The cj-fulfillment service is unreachable ({load.view.service.error}); showing what Medusa
          stored.
        </Text>
      )}
      {actionError && (
        <Text size="small" className="text-ui-fg-error px-6 py-4" data-testid="cj-action-error">
          {actionError}
        </Text>
      )}
      {notice && (
        <Text size="small" className="px-6 py-4" data-testid="cj-notice">
          {notice}
        </Text>
      )}
      {load.state === "ready" &&
        load.view.fulfillments.map((f) => (
          <FulfillmentCard
            key={f.id}
            card={cardModel(f)}
            busy={busy}
            onCancel={(id) => void act(() => cancelFulfillment(order.id, id))}
            onRetry={(id) => void act(async () => retryMessage(await retryFulfillment(id)))}
          />
        ))}
    </Container>
  )
}

export const config = defineWidgetConfig({
  zone: "order.details.side.after",
})

export default CjFulfillmentWidget
