import { setTimeout as delay } from 'node:timers/promises'
import type postgres from 'postgres'
import { waitUntil } from '../../lib/wait-until.ts'
import { startRig } from '../../stack/rig.ts'
import { type Summary, summarize } from '../measurement/stats.ts'
import { apiClient, seedBooks, waitForApi } from '../workloads/load.ts'
import type { BenchSettings } from './context.ts'

export interface SagaResult {
  /** Orders a second the load placed, and how many, at the steady rate. */
  steadyRate: number
  steadyOrders: number
  /** Order placed (created_at, the API's clock) → fulfilled (fulfilled_at, Postgres' clock; the same machine here). */
  placedToFulfilledMs: Summary
  /** A burst placed as fast as the API takes them: from the first placed to the last fulfilled. */
  burstOrders: number
  burstFulfilledPerS: number
}

/** Waits until none of the orders since `since` is still placed; polling. */
async function allSettled(sql: postgres.Sql, since: Date, timeoutS = 600) {
  let placed = 0
  await waitUntil(
    'every order settled',
    async () => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from orders where created_at >= ${since} and status = 'placed'`
      placed = row?.n ?? 0
      return placed === 0
    },
    { timeoutMs: timeoutS * 1000, intervalMs: 50, progress: () => `${placed} orders still placed` },
  )
}

/** Places `count` orders spread at `ratePerS` (or as fast as `concurrency` allows without one). */
async function placeOrders(
  client: ReturnType<typeof apiClient>,
  bookIds: string[],
  count: number,
  concurrency: number,
  ratePerS?: number,
) {
  const started = performance.now()
  let next = 0
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      if (ratePerS) {
        const due = started + (i / ratePerS) * 1000
        if (due > performance.now()) await delay(due - performance.now())
      }
      const answer = await client.post('/orders', {
        customerId: crypto.randomUUID(),
        bookId: bookIds[i % bookIds.length],
        quantity: 1,
      })
      if (answer.status !== 201) throw new Error(`POST /orders answered ${answer.status}`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/**
 * The saga's loop, end to end: API → outbox → Debezium → fulfilment (inbox, shipment, its outbox)
 * → Debezium → the order service's consumer → the order fulfilled. On a stack of its own with the
 * fulfilment service running: at a steady rate, placed → fulfilled per order from the database's
 * own timestamps; then a burst, for the rate the whole loop sustains.
 */
export async function sagaPhase(settings: BenchSettings, say: (line: string) => void): Promise<SagaResult> {
  say('saga: on a stack of its own, with the fulfilment service')
  const rig = await startRig({ consumers: 1, fulfilment: true, jvmHeap: '768m', name: 'bench-saga' })
  const client = apiClient(rig.apiUrl, settings.concurrency)
  try {
    await waitForApi(rig.apiUrl)
    const bookIds = await seedBooks(client, 50)
    // A first order through the whole loop, so the groups have joined before anything is timed.
    const warm = new Date()
    await placeOrders(client, bookIds, 10, 1)
    await allSettled(rig.sql, warm)

    const steadyRate = 200
    const steadyOrders = steadyRate * settings.steadySeconds
    const since = new Date()
    await placeOrders(client, bookIds, steadyOrders, settings.concurrency, steadyRate)
    await allSettled(rig.sql, since)
    const times = await rig.sql<{ ms: number }[]>`
      select (extract(epoch from fulfilled_at - created_at) * 1000)::float8 as ms
      from orders where created_at >= ${since} and status = 'fulfilled'`
    const placedToFulfilledMs = summarize(times.map((t) => t.ms))
    say(
      `  ${steadyRate} orders/s: placed → fulfilled p50 ${placedToFulfilledMs.p50} p99 ${placedToFulfilledMs.p99} ms`,
    )

    const burstOrders = Math.max(2000, steadyOrders)
    const burstSince = new Date()
    const started = performance.now()
    await placeOrders(client, bookIds, burstOrders, settings.concurrency)
    await allSettled(rig.sql, burstSince)
    const burstFulfilledPerS = Math.round(burstOrders / ((performance.now() - started) / 1000))
    say(`  burst of ${burstOrders}: ${burstFulfilledPerS} orders/s fulfilled end to end`)
    return { steadyRate, steadyOrders, placedToFulfilledMs, burstOrders, burstFulfilledPerS }
  } finally {
    await client.close()
    await rig.stop()
  }
}
