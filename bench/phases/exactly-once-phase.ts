import postgres from 'postgres'
import { waitUntil } from '../../lib/wait-until.ts'
import { startRig } from '../../stack/rig.ts'
import { pauseConnector } from '../measurement/connector-control.ts'
import { ratio } from '../measurement/stats.ts'
import type { EndToEndResult } from '../workloads/end-to-end.ts'
import { apiClient, seedBooks, waitForApi } from '../workloads/load.ts'
import { resetBulkEventsWritten, writeOutboxEvents } from '../workloads/throughput.ts'
import { type BenchContext, type BenchSettings, benchPostgresSettings } from './context.ts'
import { measuredRun } from './end-to-end-phases.ts'
import { settle } from './settle.ts'

export interface DeliveryMode {
  exactlyOnce: boolean
  /** Commit → applied at 1,000 events/s from the bulk writer. */
  steady: EndToEndResult
  /** A backlog written while the connector was paused, from the resume until the consumer applied all of it. */
  backlogEvents: number
  backlogPerS: number
}

export interface ExactlyOnceResult {
  modes: DeliveryMode[]
  /** Exactly-once ÷ at-least-once: p99 latency (above 1 costs), backlog throughput (below 1 costs). */
  p99Ratio: number
  backlogRatio: number
}

/** Waits until the inbox holds `count` events, polling; returns the clock time (ms) it saw them. */
async function appliedAll(sql: postgres.Sql, count: number, timeoutS = 600): Promise<number> {
  let applied = 0
  return waitUntil(
    `${count} events applied`,
    async () => {
      const [row] = await sql<{ n: number }[]>`select count(*)::int as n from consumed_events`
      applied = row?.n ?? 0
      return applied >= count && performance.now()
    },
    { timeoutMs: timeoutS * 1000, intervalMs: 50, progress: () => `${applied} applied` },
  )
}

/**
 * What exactly-once source delivery (KIP-618) costs: the same two loads on two stacks of their
 * own, one after the other and each alone on the machine, at-least-once and then exactly-once
 * (workers with exactly.once.source.support, the connector with exactly.once.support=required,
 * a transaction per poll). Commit → applied at 1,000 events/s, and a backlog's delivery rate end
 * to end: written while the connector is paused, timed from the resume until the consumer has
 * applied it (counted in the inbox, since Kafka's offsets also count each transaction's markers).
 */
export async function exactlyOncePhase(
  settings: BenchSettings,
  say: (line: string) => void,
): Promise<ExactlyOnceResult> {
  const modes: DeliveryMode[] = []
  for (const exactlyOnce of [false, true]) {
    const label = exactlyOnce ? 'exactly-once' : 'at-least-once'
    say(`delivery: ${label}, on a stack of its own`)
    const rig = await startRig({
      consumers: 1,
      jvmHeap: '768m',
      name: `bench-${label}`,
      exactlyOnce,
      postgresSettings: benchPostgresSettings,
    })
    // settle() counts the bulk events written into the stack it waits on: this one's alone.
    resetBulkEventsWritten()
    const client = apiClient(rig.apiUrl, 64)
    const writerSql = postgres(rig.info.postgres.url, { max: 8, onnotice: () => {} })
    try {
      await waitForApi(rig.apiUrl)
      const bookIds = await seedBooks(client, 50)
      const ctx: BenchContext = { rig, client, writerSql, bookIds, settings, say }
      await settle(rig, say)
      const steady = await measuredRun(ctx, 'bulk', 1000, settings.steadySeconds, {
        label,
        inbox: rig.sql,
        topicPrefix: 'outbox.events.',
      })
      say(`  ${label} at 1,000/s: p50 ${steady.latencyMs.p50} p99 ${steady.latencyMs.p99} ms`)
      await settle(rig, say)
      const [before] = await rig.sql<{ n: number }[]>`select count(*)::int as n from consumed_events`
      await pauseConnector(rig)
      await writeOutboxEvents(rig.sql, bookIds, settings.publishEvents)
      const resumed = performance.now()
      await rig.connect.resume(rig.connectorEnv.CONNECTOR_NAME)
      const done = await appliedAll(rig.sql, (before?.n ?? 0) + settings.publishEvents)
      const backlogPerS = Math.round(settings.publishEvents / ((done - resumed) / 1000))
      say(`  ${label} backlog of ${settings.publishEvents}: ${backlogPerS}/s end to end`)
      modes.push({ exactlyOnce, steady, backlogEvents: settings.publishEvents, backlogPerS })
    } finally {
      await client.close()
      await writerSql.end({ timeout: 5 })
      await rig.stop()
    }
  }
  const [plain, eos] = modes as [DeliveryMode, DeliveryMode]
  return {
    modes,
    p99Ratio: ratio(eos.steady.latencyMs.p99, plain.steady.latencyMs.p99),
    backlogRatio: ratio(eos.backlogPerS, plain.backlogPerS),
  }
}
