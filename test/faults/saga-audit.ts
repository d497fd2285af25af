import type postgres from 'postgres'
import { unlessTimedOut, waitUntil } from '../../lib/wait-until.ts'

/** What the saga promises after any crash, counted from the tables of both services. */
export interface SagaAudit {
  orders: number
  fulfilled: number
  cancelled: number
  /** Orders still `placed`: stuck, once the pipeline has caught up. */
  stuck: number
  /** Orders whose status disagrees with their shipment (fulfilled without a dispatch, cancelled without a failure, or no shipment). */
  statusWrong: number
  /** Books whose stock is not the initial stock minus the copies of orders not cancelled. */
  stockWrong: number
  /** Books whose units sold or revenue (read model) are not those of the orders not cancelled. */
  unitsWrong: number
  /** Shipment events the order side applied, against shipments made. */
  shipmentEventsApplied: number
  shipments: number
  /** OrderCancelled events the read model applied, against cancelled orders. */
  cancellationsApplied: number
  /** Order-topic events fulfilment recorded, against OrderPlaced plus OrderCancelled. */
  fulfilmentInbox: number
  /** Redeliveries both inboxes skipped. */
  duplicatesSkipped: number
  /** The longest an order waited from placed to fulfilled or cancelled. */
  longestSettleMs: number
}

/**
 * Counts the saga's state. `initialStock` is every load book's starting stock: stock must equal it
 * minus the copies of the orders not cancelled, so a cancellation that returned its copies twice,
 * or never, shows up as a wrong book.
 */
export async function auditSaga(
  sql: postgres.Sql,
  initialStock: number,
  since = new Date(0),
): Promise<SagaAudit> {
  const [row] = await sql<SagaAudit[]>`
    with live as (
      select book_id, sum(quantity)::int as q, sum(total_cents)::bigint as cents
      from orders where status <> 'cancelled' group by book_id)
    select
      (select count(*)::int from orders) as orders,
      (select count(*)::int from orders where status = 'fulfilled') as fulfilled,
      (select count(*)::int from orders where status = 'cancelled') as cancelled,
      (select count(*)::int from orders where status = 'placed') as stuck,
      (select count(*)::int from orders o left join shipments s on s.order_id = o.id
        where o.status <> 'placed' and (s.order_id is null
          or (o.status = 'fulfilled') <> (s.status = 'dispatched')
          or (o.status = 'cancelled') <> (s.status = 'failed'))) as "statusWrong",
      (select count(*)::int from books b left join live l on l.book_id = b.id
        where b.stock + coalesce(l.q, 0) <> ${initialStock}) as "stockWrong",
      (select count(*)::int from books b left join live l on l.book_id = b.id left join catalogue c on c.book_id = b.id
        where coalesce(c.units_sold, 0) <> coalesce(l.q, 0) or coalesce(c.revenue_cents, 0) <> coalesce(l.cents, 0)) as "unitsWrong",
      (select count(*)::int from consumed_events where event_type in ('ShipmentDispatched', 'ShipmentFailed')) as "shipmentEventsApplied",
      (select count(*)::int from shipments) as shipments,
      (select count(*)::int from consumed_events where event_type = 'OrderCancelled') as "cancellationsApplied",
      (select count(*)::int from fulfilment_inbox) as "fulfilmentInbox",
      ((select coalesce(sum(redeliveries), 0) from consumed_events)
        + (select coalesce(sum(redeliveries), 0) from fulfilment_inbox))::int as "duplicatesSkipped",
      (select coalesce(max(extract(epoch from coalesce(fulfilled_at, cancelled_at) - created_at) * 1000), 0)::float8
        from orders where created_at >= ${since}) as "longestSettleMs"`
  if (!row) throw new Error('the saga audit returned nothing')
  return row
}

/** Settled: no order waiting, every shipment and cancellation applied, fulfilment's inbox complete. */
export const settled = (a: SagaAudit) =>
  a.stuck === 0 &&
  a.shipments === a.orders &&
  a.shipmentEventsApplied === a.shipments &&
  a.cancellationsApplied === a.cancelled &&
  a.fulfilmentInbox === a.orders + a.cancelled &&
  a.unitsWrong === 0

/** Polls until the saga has settled, or returns the last audit when the time is up. */
export async function waitSettled(sql: postgres.Sql, initialStock: number, timeoutMs: number, since?: Date) {
  // The first audit's error is the caller's; a later one (a restarted Postgres) keeps the last.
  let last = await auditSaga(sql, initialStock, since)
  await waitUntil(
    'the saga to settle',
    async () => {
      if (settled(last)) return true
      last = await auditSaga(sql, initialStock, since).catch(() => last)
      return settled(last)
    },
    { timeoutMs, intervalMs: 500 },
  ).catch(unlessTimedOut)
  return last
}
