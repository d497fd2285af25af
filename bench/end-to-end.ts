import { setTimeout as delay } from 'node:timers/promises'
import type postgres from 'postgres'
import { type ApiClient, openLoop, orderBody } from './load.ts'
import { type Summary, slope, summarize } from './stats.ts'
import { writeOutboxEvents } from './throughput.ts'

/** What writes the events: `api` POSTs one order per request; `bulk` commits 10 events per transaction. */
export type WriterKind = 'api' | 'bulk'
export const bulkEventsPerTx = 10

export interface Writer {
  kind: WriterKind
  eventsPerCall: number
  write(i: number): Promise<void>
}

export function writerOf(
  kind: WriterKind,
  deps: { client: ApiClient; sql: postgres.Sql; bookIds: string[] },
): Writer {
  if (kind === 'api')
    return {
      kind,
      eventsPerCall: 1,
      async write(i) {
        const answer = await deps.client.post('/orders', orderBody(deps.bookIds, i))
        if (answer.status !== 201) throw new Error(`POST /orders answered ${answer.status}`)
      },
    }
  return {
    kind,
    eventsPerCall: bulkEventsPerTx,
    write: () => writeOutboxEvents(deps.sql, deps.bookIds, bulkEventsPerTx, bulkEventsPerTx),
  }
}

export interface EndToEndResult {
  writer: WriterKind
  offeredPerS: number
  achievedPerS: number
  seconds: number
  events: number
  failures: number
  /** Commit (the outbox row's created_at) to applied (the consumer's inbox row), ms. */
  latencyMs: Summary
  /** Written but not yet applied, sampled every second while the load ran. */
  backlog: Array<{ s: number; events: number }>
  /** Least-squares growth of that backlog over the run, events per second. */
  backlogGrowthPerS: number
  /** Load held: the backlog did not grow (slope under 1% of the rate) and ended under 1 s of events. */
  held: boolean
  /** Time from the last write to the last event applied. */
  drainS: number
  /** CPU ms per event by component, over the run and its drain (set by the phase). */
  cpuMsPerEvent?: Record<string, number>
}

const appliedSince = async (sql: postgres.Sql, since: Date, topicPrefix: string) => {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from consumed_events
    where occurred_at >= ${since} and topic like ${`${topicPrefix}%`}`
  return row?.n ?? 0
}

/**
 * Offers POST /orders at `ratePerS` for `seconds` and measures, for every event the run wrote, the
 * time from its commit to the consumer applying it. Both timestamps come from the same clock; the
 * applied time is the inbox insert inside the consumer's transaction, so the commit that follows
 * (a millisecond or two) is not counted.
 */
export async function endToEnd(options: {
  sql: postgres.Sql
  writer: Writer
  ratePerS: number
  seconds: number
  /** Which delivery path to count: `outbox.events.` (CDC) or the relay's namespace. */
  topicPrefix: string
  say: (line: string) => void
}): Promise<EndToEndResult> {
  const { sql, topicPrefix } = options
  // The next whole second: record timestamps (and so occurred_at) are whole milliseconds, and
  // nothing written before the run may count in it.
  const since = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000)
  await delay(since.getTime() - Date.now())
  const started = performance.now()
  let written = 0
  const backlog: EndToEndResult['backlog'] = []
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      await delay(1000)
      const applied = await appliedSince(sql, since, topicPrefix)
      const s = Math.round((performance.now() - started) / 100) / 10
      backlog.push({ s, events: Math.max(0, written - applied) })
      if (backlog.length % 10 === 0) options.say(`  ${s}s: ${written} written, ${applied} applied`)
    }
  })()
  const { writer } = options
  const run = await openLoop(options.ratePerS / writer.eventsPerCall, options.seconds, 512, async (i) => {
    await writer.write(i)
    written += writer.eventsPerCall
  })
  sampling = false
  await sampler
  const loadEnded = performance.now()
  const deadline = Date.now() + 300_000
  let applied = await appliedSince(sql, since, topicPrefix)
  while (applied < written && Date.now() < deadline) {
    await delay(100)
    applied = await appliedSince(sql, since, topicPrefix)
  }
  if (applied < written) throw new Error(`only ${applied} of ${written} events were applied after 5 min`)
  const drainS = (performance.now() - loadEnded) / 1000
  const rows = await sql<{ ms: number }[]>`
    select (extract(epoch from (consumed_at - occurred_at)) * 1000)::float8 as ms from consumed_events
    where occurred_at >= ${since} and topic like ${`${topicPrefix}%`}`
  const growth = slope(backlog.filter((p) => p.s >= 5).map((p) => ({ x: p.s, y: p.events })))
  const last = backlog.at(-1)?.events ?? 0
  return {
    writer: writer.kind,
    offeredPerS: options.ratePerS,
    achievedPerS: Math.round(run.achievedPerS * writer.eventsPerCall),
    seconds: Math.round(run.seconds * 10) / 10,
    events: written,
    failures: run.failures,
    latencyMs: summarize(rows.map((r) => r.ms)),
    backlog,
    backlogGrowthPerS: Math.round(growth * 10) / 10,
    held: growth < options.ratePerS * 0.01 && last <= options.ratePerS,
    drainS: Math.round(drainS * 10) / 10,
  }
}
