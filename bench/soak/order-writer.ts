import type postgres from 'postgres'
import { orderPlaced } from '../../lib/events.ts'
import type { BulkCommit } from '../measurement/commit-times.ts'
import { outboxTimestamp } from '../workloads/outbox-timestamp.ts'

/** A book the soak orders: its id and price (orders carry their total). */
export interface SoakBook {
  id: string
  priceCents: number
}

/**
 * The soak's bulk writer: `count` orders and their OrderPlaced events in one transaction, as the
 * API writes one (order row and outbox row together; the outbox row deleted in the same
 * transaction, as the toolkit's append does), so every event goes on through fulfilment and the
 * saga like an order the API took. Stock is not taken: the soak measures the pipeline, and the
 * API's own orders still take theirs. Returns the transaction's id and its events, so the time it
 * committed can be read back (track_commit_timestamp).
 */
export async function writeOrders(
  sql: postgres.Sql,
  books: SoakBook[],
  count: number,
  first: number,
): Promise<BulkCommit> {
  const now = new Date()
  const placed = Array.from({ length: count }, (_, i) => {
    const book = books[(first + i) % books.length] as SoakBook
    const quantity = 1 + ((first + i) % 3)
    return {
      book,
      quantity,
      event: orderPlaced({
        id: crypto.randomUUID(),
        customerId: crypto.randomUUID(),
        bookId: book.id,
        quantity,
        total: (book.priceCents * quantity) / 100,
        status: 'placed',
        createdAt: now.toISOString(),
        warehouseCapacity: null,
        fulfilledAt: null,
        cancelledAt: null,
        cancelReason: null,
      }),
    }
  })
  const orderRows = placed.map(({ book, quantity, event }) => ({
    id: event.aggregateId,
    customer_id: (event.payload as { customerId: string }).customerId,
    book_id: book.id,
    quantity,
    total_cents: book.priceCents * quantity,
    status: 'placed',
    created_at: now,
  }))
  const outboxRows = placed.map(({ event }) => ({
    id: event.id,
    aggregate_type: event.aggregateType,
    aggregate_id: event.aggregateId,
    event_type: event.eventType,
    payload: sql.json(event.payload as postgres.JSONValue),
    created_at: outboxTimestamp(now),
  }))
  const txid = await sql.begin(async (tx) => {
    await tx`insert into orders ${tx(orderRows)}`
    await tx`insert into outbox ${tx(outboxRows)}`
    const [row] = await tx<{ txid: string }[]>`
      delete from outbox where id in ${tx(outboxRows.map((r) => r.id))} returning txid_current()::text as txid`
    return row?.txid ?? ''
  })
  return { txid, eventIds: outboxRows.map((r) => r.id) }
}
