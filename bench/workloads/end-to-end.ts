import { setTimeout as delay } from 'node:timers/promises'
import type { Kafka } from 'kafkajs'
import type postgres from 'postgres'
import { z } from 'zod'
import { waitUntil } from '../../lib/wait-until.ts'
import { commitLatencies, type WriteReceipt } from '../measurement/commit-times.ts'
import { type Summary, slope, summarize } from '../measurement/stats.ts'
import { type ApiClient, openLoop, orderBody } from './load.ts'
import { writeOutboxEvents } from './throughput.ts'

/**
 * What writes the events: `api` POSTs one order per request (the API's own transaction: stock,
 * order row, outbox row); `bulk` commits BENCH_BULK_EVENTS_PER_TX (10) outbox-only events per
 * transaction (no order rows), a load the API alone cannot offer on this machine; more per
 * transaction, as real batch writers do, when 10 cannot offer the rate tried.
 */
export type WriterKind = 'api' | 'bulk'
export const bulkEventsPerTx = z.coerce
  .number()
  .int()
  .min(1)
  .max(1000)
  .default(10)
  .parse(process.env.BENCH_BULK_EVENTS_PER_TX)
export const writerLabel: Record<WriterKind, string> = {
  api: 'POST /orders',
  bulk: `bulk, ${bulkEventsPerTx} outbox-only events a tx`,
}

export interface Writer {
  kind: WriterKind
  eventsPerCall: number
  write(i: number): Promise<WriteReceipt>
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
        if (answer.status !== 201 || !answer.json.id)
          throw new Error(`POST /orders answered ${answer.status}`)
        return { orderId: answer.json.id }
      },
    }
  return {
    kind,
    eventsPerCall: bulkEventsPerTx,
    async write() {
      const [commit] = await writeOutboxEvents(deps.sql, deps.bookIds, bulkEventsPerTx, bulkEventsPerTx)
      if (!commit) throw new Error('the bulk writer committed nothing')
      return commit
    },
  }
}

export interface EndToEndResult {
  writer: WriterKind
  offeredPerS: number
  achievedPerS: number
  seconds: number
  events: number
  failures: number
  /**
   * From the writing transaction's commit to the consumer's apply transaction's commit, ms: both
   * ends are pg_xact_commit_timestamp (Postgres' clock, taken as the commit record is written).
   */
  latencyMs: Summary
  /** Written but not yet applied, sampled every second while the load ran. */
  backlog: Array<{ s: number; events: number }>
  /** Least-squares growth of that backlog over the run, events per second. */
  backlogGrowthPerS: number
  /** Load held: the backlog did not grow (slope under 1% of the rate) and ended under 1 s of events. */
  held: boolean
  /** Time from the last write to the last event applied. */
  drainS: number
  /** WAL the whole cluster wrote per event over the run and its drain (writers, publisher, consumer). */
  walBytesPerEvent?: number
  /** CPU ms per event by component, over the run and its drain (set by the phase). */
  cpuMsPerEvent?: Record<string, number>
}

/**
 * A load is kept when it was delivered (≥ 97% of offered) and the backlog did not grow: the hold
 * phase's verdict on a rate, and the report's.
 */
export const kept = (r: EndToEndResult) => r.held && r.achievedPerS >= r.offeredPerS * 0.97

const appliedSince = async (inbox: postgres.Sql, since: Date, topicPrefix: string) => {
  const [row] = await inbox<{ n: number }[]>`
    select count(*)::int as n from consumed_events
    where occurred_at >= ${since} and topic like ${`${topicPrefix}%`}`
  return row?.n ?? 0
}

const walPosition = async (sql: postgres.Sql) => {
  const [row] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`
  const [hi, lo] = (row?.lsn ?? '0/0').split('/')
  return Number.parseInt(hi ?? '0', 16) * 2 ** 32 + Number.parseInt(lo ?? '0', 16)
}

/**
 * Offers the writer's load at `ratePerS` for `seconds` (open loop) and measures, for every event
 * the run wrote, the time from its writing transaction's commit to the commit of the consumer's
 * transaction that applied it.
 */
export async function endToEnd(options: {
  /** The database the writers write to. */
  sql: postgres.Sql
  /** The database the path's consumer applies to (its inbox). */
  inbox: postgres.Sql
  kafka: Kafka
  writer: Writer
  ratePerS: number
  seconds: number
  /** Which delivery path to count: `outbox.events.` (CDC) or the relay's namespace. */
  topicPrefix: string
  say: (line: string) => void
}): Promise<EndToEndResult> {
  const { sql, inbox, topicPrefix, writer } = options
  const orderTopic = `${topicPrefix}order`
  const admin = options.kafka.admin()
  await admin.connect()
  const offsetsBefore = await admin.fetchTopicOffsets(orderTopic)
  // The next whole second: record timestamps (and so occurred_at) are whole milliseconds, and
  // nothing written before the run may count in it.
  const since = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000)
  await delay(since.getTime() - Date.now())
  const walBefore = await walPosition(sql)
  const started = performance.now()
  let written = 0
  const receipts: WriteReceipt[] = []
  const backlog: EndToEndResult['backlog'] = []
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      await delay(1000)
      const applied = await appliedSince(inbox, since, topicPrefix)
      const s = Math.round((performance.now() - started) / 100) / 10
      backlog.push({ s, events: Math.max(0, written - applied) })
      if (backlog.length % 10 === 0) options.say(`  ${s}s: ${written} written, ${applied} applied`)
    }
  })()
  const run = await openLoop(options.ratePerS / writer.eventsPerCall, options.seconds, 512, async (i) => {
    receipts.push(await writer.write(i))
    written += writer.eventsPerCall
  })
  sampling = false
  await sampler
  const loadEnded = performance.now()
  let applied = 0
  await waitUntil(
    'every event written to be applied',
    async () => {
      applied = await appliedSince(inbox, since, topicPrefix)
      return applied >= written
    },
    { timeoutMs: 300_000, intervalMs: 100, progress: () => `${applied} of ${written} applied` },
  )
  const drainS = (performance.now() - loadEnded) / 1000
  const walBytes = (await walPosition(sql)) - walBefore
  const latencies = await commitLatencies({
    sql,
    inbox,
    kafka: options.kafka,
    admin,
    orderTopic,
    offsetsBefore,
    receipts,
    since,
    topicPrefix,
  })
  await admin.disconnect()
  const growth = slope(backlog.filter((p) => p.s >= 5).map((p) => ({ x: p.s, y: p.events })))
  const last = backlog.at(-1)?.events ?? 0
  return {
    writer: writer.kind,
    offeredPerS: options.ratePerS,
    achievedPerS: Math.round(run.achievedPerS * writer.eventsPerCall),
    seconds: Math.round(run.seconds * 10) / 10,
    events: written,
    failures: run.failures,
    latencyMs: summarize(latencies),
    backlog,
    backlogGrowthPerS: Math.round(growth * 10) / 10,
    held: growth < options.ratePerS * 0.01 && last <= options.ratePerS,
    drainS: Math.round(drainS * 10) / 10,
    walBytesPerEvent: Math.round(walBytes / Math.max(1, written)),
  }
}
