import { setTimeout as delay } from 'node:timers/promises'
import type postgres from 'postgres'
import { Agent, request } from 'undici'
import { unlessTimedOut, waitUntil } from '../../lib/wait-until.ts'
import type { Refused } from './verify.ts'

export interface LoadResult {
  /** Writes that got a 2xx (possibly on a retry that replayed an ambiguous first attempt). */
  ok: number
  /** Requests the API refused on purpose (4xx): these must leave no event behind. */
  rejected: number
  /** What each refused request asked for, to look for it downstream. */
  refused: Refused[]
  /** Writes still failing after every retry: their fate is unknown, so the run cannot be judged. */
  gaveUp: number
  retries: number
}

/** Every book the load adds starts with this many copies. */
export const loadBookStock = 1_000_000

/** A seeded generator, so a failing run can be repeated with FAULT_SEED. */
export function seededRandom(seed: number) {
  let state = seed >>> 0
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0
    return state / 2 ** 32
  }
}

/**
 * Sends `writes` API writes as a careful client would: each with its own Idempotency-Key, retried
 * with the same key on a network error or 5xx until it gets an answer (so an ambiguous commit is
 * replayed, never doubled). Mostly orders, some new books, and every 50th an order for an unknown
 * book that must be refused. `ratePerS` spreads the writes out so they continue through an outage.
 */
export async function writeLoad(
  apiUrl: string,
  writes: number,
  options: {
    concurrency: number
    random: () => number
    ratePerS?: number
    onProgress?: (done: number) => void
    /**
     * Every this-many-th book gets a warehouse capacity of 2 copies per shipment, so its orders
     * of 3 are cancelled by fulfilment (the saga's compensating path); none when not given.
     */
    capacityEvery?: number
  },
): Promise<LoadResult> {
  const agent = new Agent({ connections: options.concurrency, headersTimeout: 15_000, bodyTimeout: 15_000 })
  const result: LoadResult = { ok: 0, rejected: 0, refused: [], gaveUp: 0, retries: 0 }
  const bookIds: string[] = []
  const send = async (
    path: string,
    body: unknown,
    method: 'POST' | 'PUT' = 'POST',
  ): Promise<{ status: number; json: { id?: string } } | undefined> => {
    const key = crypto.randomUUID()
    for (let attempt = 0; attempt < 300; attempt += 1) {
      try {
        const response = await request(`${apiUrl}${path}`, {
          method,
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify(body),
        })
        const json = (await response.body.json()) as { id?: string }
        if (response.statusCode < 500) return { status: response.statusCode, json }
      } catch {
        // Connection refused or reset: the API or its database is down. Same key, try again.
      }
      result.retries += 1
      await delay(Math.min(1000, 50 * 2 ** Math.min(attempt, 5)))
    }
    result.gaveUp += 1
    return undefined
  }
  const addBook = async () => {
    const answer = await send('/books', {
      title: `Load ${bookIds.length}`,
      author: 'Rig',
      price: 9.99,
      stock: loadBookStock,
    })
    if (answer?.status === 201 && answer.json.id) {
      // Before the book is offered to the order writers, so all its orders see the capacity.
      if (options.capacityEvery && bookIds.length % options.capacityEvery === 0)
        await send(`/books/${answer.json.id}/warehouse-capacity`, { capacity: 2 }, 'PUT')
      bookIds.push(answer.json.id)
      result.ok += 1
    }
  }
  while (bookIds.length < 5) await addBook()

  const started = performance.now()
  let next = bookIds.length
  let done = bookIds.length
  const worker = async () => {
    for (let i = next++; i < writes; i = next++) {
      if (options.ratePerS) {
        const due = started + (i / options.ratePerS) * 1000
        if (due > performance.now()) await delay(due - performance.now())
      }
      if (i % 50 === 0) {
        const order = { customerId: crypto.randomUUID(), bookId: crypto.randomUUID() }
        const answer = await send('/orders', { ...order, quantity: 1 })
        if (answer && answer.status >= 400) {
          result.rejected += 1
          result.refused.push(order)
        }
      } else if (i % 20 === 0) {
        await addBook()
      } else {
        const bookId = bookIds[Math.floor(options.random() * bookIds.length)]
        const quantity = 1 + Math.floor(options.random() * 3)
        const answer = await send('/orders', { customerId: crypto.randomUUID(), bookId, quantity })
        if (answer?.status === 201) result.ok += 1
      }
      done += 1
      options.onProgress?.(done)
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  await agent.close()
  return result
}

export interface Tally {
  /** The source of truth: committed books and orders. */
  committed: number
  /** Events the consumer applied (rows in its inbox). */
  applied: number
  /** Deliveries the inbox skipped because the event was already applied. */
  duplicatesSkipped: number
  /** Books whose read model disagrees with the orders table (units sold, or never added). */
  mismatchedBooks: number
  /** Copies counted in the read model beyond what the orders say: a double application. */
  overCounted: number
}

export async function tally(sql: postgres.Sql): Promise<Tally> {
  const [row] = await sql<Tally[]>`
    with sold as (select book_id, sum(quantity)::int as q from orders where status <> 'cancelled' group by book_id)
    select
      (select count(*)::int from books) + (select count(*)::int from orders) as committed,
      (select count(*)::int from consumed_events where event_type in ('BookAdded', 'OrderPlaced')) as applied,
      (select coalesce(sum(redeliveries), 0)::int from consumed_events) as "duplicatesSkipped",
      (select count(*)::int from books b left join catalogue c on c.book_id = b.id left join sold s on s.book_id = b.id
        where c.title is null or coalesce(c.units_sold, 0) <> coalesce(s.q, 0)) as "mismatchedBooks",
      (select coalesce(sum(greatest(c.units_sold - coalesce(s.q, 0), 0)), 0)::int
        from catalogue c left join sold s on s.book_id = c.book_id) as "overCounted"`
  if (!row) throw new Error('tally returned nothing')
  return row
}

/** Polls until every committed write's event is applied and the read model agrees, or the time is up. */
export async function waitConverged(sql: postgres.Sql, timeoutMs: number): Promise<Tally> {
  const converged = (t: Tally) => t.applied >= t.committed && t.mismatchedBooks === 0
  // The first tally's error is the caller's; a later one (a restarted Postgres) keeps the last.
  let last = await tally(sql)
  await waitUntil(
    'every committed write applied and the read model agreeing',
    async () => {
      if (converged(last)) return true
      last = await tally(sql).catch(() => last)
      return converged(last)
    },
    { timeoutMs, intervalMs: 500 },
  ).catch(unlessTimedOut)
  return last
}
