import { ConsumerError, defineInboxApp, type EventContext, type Sql, type TxGuard } from 'outbox-cdc'
import { appendOutboxRow } from '../consumer/append-outbox-row.ts'
import { bookstoreEvents, type PayloadOf, type Shipment } from '../lib/events.ts'
import { decideShipment } from './decide.ts'

/**
 * For each new order: a shipment and its event in fulfilment's own outbox, in the transaction
 * that records the order in fulfilment's inbox. The shipment's key is the order's id, so an order
 * is decided once even if the inbox were bypassed: a second insert does nothing and appends nothing.
 * Every shipment of the batch carries the database's transaction time (see transactionTime).
 */
export async function shipOrders(
  sql: Sql,
  tx: TxGuard,
  orders: PayloadOf<'OrderPlaced'>[],
  events: EventContext[],
): Promise<void> {
  if (orders.length === 0) return
  const now = await transactionTime(sql, tx)
  for (const [i, order] of orders.entries()) {
    const event = decideShipment(order, now)
    const shipment = event.payload as Shipment
    const created = await sql`
      insert into shipments (order_id, book_id, quantity, status, reason, created_at)
      select ${shipment.orderId}::uuid, ${shipment.bookId}::uuid, ${shipment.quantity}::int, ${shipment.status}::text,
             ${shipment.reason}::text, ${shipment.createdAt}::timestamptz
      where txid_current() = ${tx}::bigint
      on conflict (order_id) do nothing
      returning order_id`
    if (created.length === 0) continue
    await appendOutboxRow(sql, tx, 'fulfilment_outbox', event, shipment.createdAt, events[i]?.traceparent)
  }
}

/**
 * The batch transaction's `now()`, to the millisecond (what an event's ISO time holds, so the row
 * and its event carry the same instant). Never fulfilment's own clock: the shipment's time becomes
 * the outbox row's `created_at` and so the Kafka record's timestamp, and the broker refuses a record
 * more than `log.message.timestamp.after.max.ms` ahead of its clock, failing the connector for every
 * service. Guarded like every statement of the batch: on a replaced connection (see catalogue.ts)
 * there is no row, and the batch fails as retryable instead of writing.
 */
async function transactionTime(sql: Sql, tx: TxGuard): Promise<Date> {
  const [row] = await sql<{ now: string }[]>`
    select to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now
    where txid_current() = ${tx}::bigint`
  if (!row)
    throw new ConsumerError(
      'CONNECTION_REPLACED',
      'the database connection was replaced inside the batch transaction',
      { retryable: true },
    )
  return new Date(row.now)
}

/**
 * The fulfilment service on the shared consumer runtime: its inbox, OrderPlaced only. No lock
 * keys: each order writes only its own shipment, whose primary key already serialises a second
 * decision; advisory locks would only make it take turns with the order side's batches.
 */
export const fulfilmentApp = defineInboxApp({
  registry: bookstoreEvents,
  inbox: 'fulfilment_inbox',
  handlers: { OrderPlaced: (sql, tx, orders, events) => shipOrders(sql, tx, orders, events) },
})
