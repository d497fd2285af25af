import { setTimeout as delay } from 'node:timers/promises'
import { waitUntil } from '../../lib/wait-until.ts'
import { sampleRss } from '../measurement/rss.ts'
import { summarize } from '../measurement/stats.ts'
import { type ApiClient, closedLoop, openLoop, orderBody } from '../workloads/load.ts'
import type { BenchContext } from './context.ts'
import { settle } from './settle.ts'

export interface OverloadResult {
  /** POST /orders a second that the API held with p99 ≤ 1 s, found in this run. */
  heldPerS: number
  heldP99Ms: number
  /** 503s at the held rate: a rate held is one not shed (1% at most). */
  heldShedShare: number
  /** Five times the held rate, offered for `seconds`. */
  offeredPerS: number
  seconds: number
  acknowledgedPerS: number
  /** 503s among the answers. */
  shedShare: number
  /** Answers other than 201 and 503, by status (0: the request failed without an answer). */
  otherAnswers: Record<string, number>
  acknowledgedP99Ms: number
  /** The API process's resident memory before and at its peak during the overload. */
  rssMb: { before: number; peak: number }
  /** From when the overload stopped being offered to the first order acknowledged within a second. */
  recoverMs: number
  acknowledged: number
  /** Orders the database holds from the overload. */
  ordersWritten: number
  /** Orders written that were never acknowledged (a shed request that wrote one): by id. */
  writtenUnacknowledged: number
  /** Orders acknowledged that the database does not hold: by id. */
  acknowledgedMissing: number
  /** Of the acknowledged orders, those whose OrderPlaced the consumer applied (each once: the inbox's key). */
  applied: number
}

/** One order; its status (0 when no answer came) and latency. */
async function order(client: ApiClient, bookIds: string[], i: number) {
  const started = performance.now()
  const answer = await client
    .post('/orders', orderBody(bookIds, i))
    .catch(() => ({ status: 0, json: {} as { id?: string } }))
  return { status: answer.status, ms: performance.now() - started, id: answer.json.id }
}

/** The highest rate of a few tried that POST /orders holds with p99 ≤ 1 s (open loop, 10 s each). */
async function heldRate(ctx: BenchContext) {
  const { client, bookIds, say } = ctx
  const closed = await closedLoop(ctx.settings.concurrency, 10, async (i) => {
    await client.post('/orders', orderBody(bookIds, i))
  })
  let rate = Math.max(1, Math.floor((closed.latencies.length / closed.seconds) * 0.8))
  for (let attempt = 0; ; attempt += 1) {
    await settle(ctx.rig, say)
    const latencies: number[] = []
    let answered = 0
    await openLoop(rate, 10, 4096, async (i) => {
      const r = await order(client, bookIds, i)
      answered += 1
      if (r.status === 201) latencies.push(r.ms)
    })
    const p99 = summarize(latencies).p99
    const shedShare = answered === 0 ? 1 : Math.round((1 - latencies.length / answered) * 1000) / 1000
    say(`  ${rate} orders/s: p99 ${p99} ms, ${Math.round(shedShare * 100)}% not acknowledged`)
    if ((p99 <= 1000 && shedShare <= 0.01) || attempt === 3) return { rate, p99, shedShare }
    rate = Math.max(1, Math.floor(rate * 0.7))
  }
}

/**
 * POST /orders offered five times the rate it holds with p99 ≤ 1 s (found first, in this run) for
 * `seconds`, open loop: acknowledged writes a second, the share shed with 503, any other answer,
 * the p99 of what was acknowledged, the API's peak memory, and how long it takes to acknowledge an
 * order within a second once the load drops. Then every acknowledged order must be in the
 * database and applied by the consumer, and no other order written.
 */
export async function overloadPhase(ctx: BenchContext, seconds = 60): Promise<OverloadResult> {
  const { rig, client, bookIds, say } = ctx
  say('overload: finding the rate POST /orders holds with p99 ≤ 1 s')
  const held = await heldRate(ctx)
  const offered = held.rate * 5
  await settle(rig, say)
  const [first] = await rig.sql<{ t0: Date }[]>`select clock_timestamp() as t0`
  const t0 = first?.t0 ?? new Date()
  const rss = sampleRss(() => rig.pidOf('api'))
  const acked: number[] = []
  const ids = new Set<string>()
  const answers: Record<string, number> = {}
  say(`overload: offering ${offered} orders/s (5 × ${held.rate}) for ${seconds} s`)
  const offeringEnds = performance.now() + seconds * 1000
  const run = await openLoop(offered, seconds, 20_000, async (i) => {
    const r = await order(client, bookIds, i)
    answers[r.status] = (answers[r.status] ?? 0) + 1
    if (r.status === 201 && r.id) {
      acked.push(r.ms)
      ids.add(r.id)
    }
  }).finally(() => undefined)
  const { before, peak } = rss.stop()
  let recoverMs = Number.NaN
  for (let i = 0; Number.isNaN(recoverMs) && i < 600; i += 1) {
    const r = await order(client, bookIds, i)
    if (r.status === 201 && r.id) {
      ids.add(r.id)
      if (r.ms <= 1000) recoverMs = Math.round(performance.now() - offeringEnds)
    } else await delay(100)
  }
  const total = Object.values(answers).reduce((a, b) => a + b, 0)
  const count = async () => {
    const [row] = await rig.sql<{ orders: number; applied: number }[]>`
      select (select count(*)::int from orders where created_at >= ${t0}) as orders,
             (select count(*)::int from consumed_events
               where event_type = 'OrderPlaced' and occurred_at >= ${t0}) as applied`
    return row ?? { orders: 0, applied: 0 }
  }
  await waitUntil(
    'the consumer to apply every acknowledged order',
    async () => (await count()).applied >= ids.size,
    {
      timeoutMs: 300_000,
      intervalMs: 1000,
    },
  ).catch(() => {})
  const final = await count()
  const written = new Set(
    (await rig.sql<{ id: string }[]>`select id::text as id from orders where created_at >= ${t0}`).map(
      (r) => r.id,
    ),
  )
  const result: OverloadResult = {
    heldPerS: held.rate,
    heldP99Ms: held.p99,
    heldShedShare: held.shedShare,
    offeredPerS: offered,
    seconds,
    acknowledgedPerS: Math.round(acked.length / run.seconds),
    shedShare: total === 0 ? 0 : Math.round(((answers['503'] ?? 0) / total) * 1000) / 1000,
    otherAnswers: Object.fromEntries(Object.entries(answers).filter(([s]) => s !== '201' && s !== '503')),
    acknowledgedP99Ms: summarize(acked).p99,
    rssMb: { before, peak },
    recoverMs,
    acknowledged: ids.size,
    ordersWritten: final.orders,
    writtenUnacknowledged: [...written].filter((id) => !ids.has(id)).length,
    acknowledgedMissing: [...ids].filter((id) => !written.has(id)).length,
    applied: final.applied,
  }
  say(
    `  acknowledged ${result.acknowledgedPerS}/s, shed ${Math.round(result.shedShare * 100)}%, other ${JSON.stringify(result.otherAnswers)}, p99 ${result.acknowledgedP99Ms} ms, RSS ${before} → ${peak} MB, recovered in ${recoverMs} ms; ${final.orders} orders written, ${final.applied} applied, ${ids.size} acknowledged`,
  )
  return result
}
