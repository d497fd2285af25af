import { join } from 'node:path'
import type postgres from 'postgres'
import { waitUntil } from '../../lib/wait-until.ts'
import { logLevels } from './beside.ts'
import type { SoakOutcome } from './verdict.ts'
import type { WriterTally } from './writers.ts'

/** The consumer runtime's counters the soak reads from a service's /metrics, summed over labels. */
const counters = {
  refused: 'consumer_refused_transitions_total',
  duplicates: 'consumer_duplicates_skipped_total',
  retries: 'consumer_retries_total',
  fallbacks: 'consumer_batch_fallbacks_total',
  deadLettered: 'consumer_dead_letters_total',
} as const
export type ConsumerCounters = Record<keyof typeof counters, number>

/** Sums each counter's series in a Prometheus text exposition. */
export function countersOf(exposition: string): ConsumerCounters {
  const sum = (name: string) =>
    exposition
      .split('\n')
      .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)
  return Object.fromEntries(
    Object.entries(counters).map(([key, name]) => [key, sum(name)]),
  ) as ConsumerCounters
}

async function scrape(url: string): Promise<ConsumerCounters> {
  const answer = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })
  if (!answer.ok) throw new Error(`${url}/metrics answered ${answer.status}`)
  return countersOf(await answer.text())
}

/**
 * What the soak ends with, once every order has had time to go through the saga: orders written
 * against those acknowledged, fulfilled and shipped; units sold against the orders' quantities
 * (an OrderPlaced applied twice counts twice); refused transitions (a ShipmentDispatched applied
 * twice, or before its order) from both consumers' /metrics; dead letters; error lines by process.
 */
export async function collectOutcome(o: {
  sql: postgres.Sql
  t0: Date
  /** units_sold by book id before the load. */
  unitsBefore: Record<string, number>
  tally: WriterTally
  stackDir: string
  metricsOf: Record<string, string>
  deadLetters: () => Promise<number>
  extraErrors: Record<string, number>
}): Promise<{ outcome: SoakOutcome; counters: Record<string, ConsumerCounters>; firstErrors: string[] }> {
  const count = async () => {
    const [row] = await o.sql<{ orders: number; placed: number; fulfilled: number; shipments: number }[]>`
      select count(*)::int as orders, count(*) filter (where status = 'placed')::int as placed,
             count(*) filter (where status = 'fulfilled')::int as fulfilled,
             (select count(*)::int from shipments where created_at >= ${o.t0}) as shipments
      from orders where created_at >= ${o.t0}`
    if (!row) throw new Error('could not count the orders')
    return row
  }
  await waitUntil('every order to be fulfilled', async () => (await count()).placed === 0, {
    timeoutMs: 300_000,
    intervalMs: 1000,
  }).catch(() => {})
  const final = await count()
  const byBook = await o.sql<{ book: string; quantity: number; sold: number }[]>`
    select c.book_id::text as book, coalesce(q.quantity, 0)::int as quantity, c.units_sold::int as sold
    from catalogue c
    full join (select book_id, sum(quantity) as quantity from orders where created_at >= ${o.t0} group by book_id) q
      on q.book_id = c.book_id`
  const [api] = await o.sql<{ found: number }[]>`
    select count(*)::int as found from orders where id = any(${o.tally.apiOrderIds}::uuid[])`
  const books = reconcileUnits(byBook, o.unitsBefore)
  const orders = reconcileOrders({
    rows: final.orders,
    apiAcknowledged: o.tally.apiOrderIds.length,
    apiFound: api?.found ?? 0,
    bulkAcknowledged: o.tally.bulkOrders,
  })
  const consumerCounters: Record<string, ConsumerCounters> = {}
  const scrapeErrors: Record<string, number> = {}
  for (const [name, url] of Object.entries(o.metricsOf)) {
    try {
      consumerCounters[name] = await scrape(url)
    } catch {
      scrapeErrors[`${name} /metrics`] = 1
    }
  }
  const levels = Object.fromEntries(
    ['api', 'consumer-1', 'fulfilment', 'console'].map((name) => [
      name,
      logLevels(join(o.stackDir, `${name}.log`)),
    ]),
  )
  const outcome: SoakOutcome = {
    orders: final.orders,
    fulfilled: final.fulfilled,
    // Acknowledged but not in the database, written but never taken through the saga, or not
    // counted as sold by the order service's read model.
    lost: orders.lost + (final.orders - final.fulfilled) + books.short,
    appliedTwice: books.over + Object.values(consumerCounters).reduce((n, c) => n + c.refused, 0),
    shipments: final.shipments,
    deadLetters: await o.deadLetters(),
    errors: {
      ...Object.fromEntries(Object.entries(levels).map(([name, l]) => [name, l.errors])),
      'POST /orders': o.tally.failures.api,
      'bulk writer': o.tally.failures.bulk,
      // An order committed whose writer was not told: a client that gave up, or a shed that wrote.
      'written, not acknowledged': orders.unacknowledged,
      ...scrapeErrors,
      ...o.extraErrors,
    },
    warnings: Object.fromEntries(Object.entries(levels).map(([name, l]) => [name, l.warnings])),
  }
  const firstErrors = [
    ...Object.entries(levels).flatMap(([name, l]) => (l.firstError ? [`${name}: ${l.firstError}`] : [])),
    ...(o.tally.firstFailure ? [`first failed write: ${o.tally.firstFailure}`] : []),
  ]
  return { outcome, counters: consumerCounters, firstErrors }
}

/**
 * Units sold by the read model against the orders' quantities, book by book, so that one book's
 * OrderPlaced applied twice is not cancelled by another's never applied: `short` sums the units
 * missing, `over` the units counted twice.
 */
export function reconcileUnits(
  rows: Array<{ book: string; quantity: number; sold: number }>,
  before: Record<string, number>,
): { short: number; over: number } {
  let short = 0
  let over = 0
  for (const { book, quantity, sold } of rows) {
    const counted = sold - (before[book] ?? 0)
    if (counted < quantity) short += quantity - counted
    else over += counted - quantity
  }
  return { short, over }
}

/**
 * Orders acknowledged against orders written. The API's are found by id, so an acknowledged order
 * missing is not cancelled by another written without an answer; the bulk writer's, whose
 * transactions return no ids, by count.
 */
export function reconcileOrders(o: {
  rows: number
  apiAcknowledged: number
  apiFound: number
  bulkAcknowledged: number
}): { lost: number; unacknowledged: number } {
  const others = o.rows - o.apiFound
  return {
    lost: o.apiAcknowledged - o.apiFound + Math.max(0, o.bulkAcknowledged - others),
    unacknowledged: Math.max(0, others - o.bulkAcknowledged),
  }
}
