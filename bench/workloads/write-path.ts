import type postgres from 'postgres'
import { fromCents, orderPlaced } from '../../lib/events.ts'
import { type Summary, summarize } from '../measurement/stats.ts'
import { type ApiClient, closedLoop, orderBody } from './load.ts'
import { outboxTimestamp } from './outbox-timestamp.ts'

export interface WritePathResult {
  concurrency: number
  seconds: number
  perS: number
  latencyMs: Summary
  failures: number
}

function result(concurrency: number, run: Awaited<ReturnType<typeof closedLoop>>): WritePathResult {
  return {
    concurrency,
    seconds: Math.round(run.seconds * 10) / 10,
    perS: Math.round(run.latencies.length / run.seconds),
    latencyMs: summarize(run.latencies),
    failures: run.failures,
  }
}

/** `POST /orders` through the API, back to back from `concurrency` callers. */
export async function apiWritePath(
  client: ApiClient,
  bookIds: string[],
  concurrency: number,
  seconds: number,
) {
  const run = await closedLoop(concurrency, seconds, async (i) => {
    const answer = await client.post('/orders', orderBody(bookIds, i))
    if (answer.status !== 201) throw new Error(`POST /orders answered ${answer.status}`)
  })
  return result(concurrency, run)
}

/**
 * The floor the API is measured against: the same statements placeOrder runs (take stock, insert
 * the order, insert and delete the outbox row) in one transaction, straight from postgres.js on
 * `sql` (a pool the API's size, opened by the caller so its backends live across the measured
 * window), no HTTP, no validation, no ORM.
 */
export async function rawWritePath(
  sql: postgres.Sql,
  bookIds: string[],
  concurrency: number,
  seconds: number,
) {
  const run = await closedLoop(concurrency, seconds, async (i) => {
    const input = orderBody(bookIds, i)
    await sql.begin(async (tx) => {
      const now = new Date()
      const [book] = await tx<{ price_cents: number }[]>`
        update books set stock = stock - ${input.quantity}, updated_at = ${now}
        where id = ${input.bookId ?? ''} and removed_at is null and stock >= ${input.quantity}
        returning *`
      if (!book) throw new Error('no stock')
      const id = crypto.randomUUID()
      const [order] = await tx<{ created_at: Date; total_cents: number }[]>`
        insert into orders (id, customer_id, book_id, quantity, total_cents, status, created_at)
        values (${id}, ${input.customerId}, ${input.bookId ?? ''}, ${input.quantity},
                ${book.price_cents * input.quantity}, 'placed', ${now})
        returning *`
      const event = orderPlaced({
        id,
        customerId: input.customerId,
        bookId: input.bookId ?? '',
        quantity: input.quantity,
        total: fromCents(order?.total_cents ?? 0),
        status: 'placed',
        createdAt: now.toISOString(),
      })
      await tx`
        insert into outbox (id, aggregate_type, aggregate_id, event_type, payload, created_at)
        values (${event.id}, ${event.aggregateType}, ${event.aggregateId}, ${event.eventType},
                ${tx.json(event.payload as postgres.JSONValue)}, ${outboxTimestamp()})`
      await tx`delete from outbox where id = ${event.id}`
    })
  })
  return result(concurrency, run)
}

/** The round with the median throughput; failures summed over all rounds. */
export function medianRound(rounds: WritePathResult[]): WritePathResult {
  const sorted = [...rounds].sort((a, b) => a.perS - b.perS)
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as WritePathResult
  return { ...median, failures: rounds.reduce((n, r) => n + r.failures, 0) }
}
