import type { EventContext } from 'outbox-cdc'
import type { PayloadOf } from '../lib/events.ts'
import { fromCents, orderCancelled } from '../lib/events.ts'
import { appendOutboxRow } from './append-outbox-row.ts'
import type { Sql, TxGuard } from './catalogue.ts'

/**
 * The order service's side of the fulfilment saga: shipment events move an order on. An order's
 * status only moves forward, placed → fulfilled or placed → cancelled; each move is one guarded
 * UPDATE … WHERE status = 'placed', so a late or repeated event changes nothing and is reported
 * (returned as refused) instead: the runtime logs and counts it, and never dead-letters it.
 */

/** A state change the order's state machine did not allow: the runtime logs and counts it. */
export type RefusedTransition = {
  orderId: string
  eventType: 'ShipmentDispatched' | 'ShipmentFailed'
  /** The order's status when the event came ('missing': no such order here). */
  from: string
  to: 'fulfilled' | 'cancelled'
}

async function statusOf(sql: Sql, orderId: string): Promise<string> {
  const [row] = await sql<{ status: string }[]>`select status from orders where id = ${orderId}`
  return row?.status ?? 'missing'
}

/** ShipmentDispatched: placed → fulfilled. */
export async function fulfilOrders(
  sql: Sql,
  tx: TxGuard,
  shipments: PayloadOf<'ShipmentDispatched'>[],
): Promise<{ refused: RefusedTransition[] }> {
  const refused: RefusedTransition[] = []
  for (const shipment of shipments) {
    const moved = await sql`
      update orders set status = 'fulfilled', fulfilled_at = clock_timestamp()
      where id = ${shipment.orderId} and status = 'placed' and txid_current() = ${tx}::bigint
      returning id`
    if (moved.length === 0)
      refused.push({
        orderId: shipment.orderId,
        eventType: 'ShipmentDispatched',
        from: await statusOf(sql, shipment.orderId),
        to: 'fulfilled',
      })
  }
  return { refused }
}

/** Times read as text in the API's form (`Date#toISOString`): the client hands timestamps through unparsed. */
interface CancelledRow {
  id: string
  customer_id: string
  book_id: string
  quantity: number
  total_cents: string
  warehouse_capacity: number | null
  created_at: string
  cancelled_at: string
  cancel_reason: string
}

/**
 * ShipmentFailed: placed → cancelled, and the compensation in the same transaction: the order's
 * copies go back to stock, and OrderCancelled is appended to the order service's outbox. The
 * stock comes back only with the status change, so at most once per order whatever is redelivered.
 */
export async function cancelOrders(
  sql: Sql,
  tx: TxGuard,
  shipments: PayloadOf<'ShipmentFailed'>[],
  events: EventContext[],
): Promise<{ refused: RefusedTransition[] }> {
  const refused: RefusedTransition[] = []
  for (const [i, shipment] of shipments.entries()) {
    const [row] = await sql<CancelledRow[]>`
      update orders set status = 'cancelled', cancelled_at = clock_timestamp(), cancel_reason = ${shipment.reason}::text
      where id = ${shipment.orderId} and status = 'placed' and book_id = ${shipment.bookId}::uuid
        and txid_current() = ${tx}::bigint
      returning id, customer_id, book_id, quantity, total_cents::text, warehouse_capacity,
        to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at,
        to_char(cancelled_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as cancelled_at, cancel_reason`
    if (!row) {
      refused.push({
        orderId: shipment.orderId,
        eventType: 'ShipmentFailed',
        from: await statusOf(sql, shipment.orderId),
        to: 'cancelled',
      })
      continue
    }
    await sql`
      update books set stock = stock + ${row.quantity}, updated_at = now()
      where id = ${row.book_id} and txid_current() = ${tx}::bigint`
    const event = orderCancelled({
      id: row.id,
      customerId: row.customer_id,
      bookId: row.book_id,
      quantity: row.quantity,
      total: fromCents(Number(row.total_cents)),
      status: 'cancelled',
      createdAt: row.created_at,
      warehouseCapacity: row.warehouse_capacity,
      fulfilledAt: null,
      cancelledAt: row.cancelled_at,
      cancelReason: row.cancel_reason,
    })
    await appendOutboxRow(sql, tx, 'outbox', event, row.cancelled_at, events[i]?.traceparent)
  }
  return { refused }
}
