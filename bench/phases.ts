import { setTimeout as delay } from 'node:timers/promises'
import type postgres from 'postgres'
import { ensureEventTopics } from '../connector/topics.ts'
import type { Rig } from '../stack/rig.ts'
import { CpuMeter } from './cpu.ts'
import { type EndToEndResult, endToEnd, type WriterKind, writerOf } from './end-to-end.ts'
import type { ApiClient } from './load.ts'
import { installRelayTable, PollingRelay } from './polling-relay.ts'
import { kept } from './report.ts'
import { ratio } from './stats.ts'
import {
  bulkEventsWritten,
  consumerSpan,
  produceOrderEvents,
  rawConsume,
  recordsIn,
  waitForRecords,
  writeOutboxEvents,
} from './throughput.ts'
import { apiWritePath, medianRound, rawWritePath, type WritePathResult } from './write-path.ts'

export interface BenchContext {
  rig: Rig
  client: ApiClient
  /** The bulk writer's own pool, apart from the rig's. */
  writerSql: postgres.Sql
  bookIds: string[]
  settings: BenchSettings
  say: (line: string) => void
}

export interface BenchSettings {
  concurrency: number
  apiPoolMax: number
  writeSeconds: number
  steadySeconds: number
  steady: Array<{ rate: number; writer: WriterKind }>
  writeRounds: number
  holdSeconds: number
  holdRate: number
  /** Added to a rate that held, to look for the highest. */
  holdStep: number
  publishEvents: number
  consumeEvents: number
  relayIntervalsMs: number[]
}

const relayNamespace = 'relay.events'

/**
 * API and raw driver in alternating rounds, so drift on a shared machine (JIT, autovacuum, the
 * connector catching up) falls on both; the median round (rate and latencies) is reported.
 */
export async function writePathPhase({ rig, client, bookIds, settings, say }: BenchContext) {
  const { concurrency, writeSeconds, writeRounds } = settings
  say(
    `write path: POST /orders vs raw postgres.js, ${concurrency} callers, ${writeRounds} × ${writeSeconds} s each`,
  )
  const api: WritePathResult[] = []
  const raw: WritePathResult[] = []
  // CPU per write by component over all rounds: where a write's cost goes on a shared machine.
  const cpu = { api: new CpuMeter(rig.stackDir), raw: new CpuMeter(rig.stackDir) }
  for (let round = 1; round <= writeRounds; round += 1) {
    api.push(
      await cpu.api.measure(
        () => apiWritePath(client, bookIds, concurrency, writeSeconds),
        (r) => r.latencyMs.count,
      ),
    )
    raw.push(
      await cpu.raw.measure(
        () => rawWritePath(rig.info.postgres.url, settings.apiPoolMax, bookIds, concurrency, writeSeconds),
        (r) => r.latencyMs.count,
      ),
    )
    say(`  round ${round}: API ${api.at(-1)?.perS}/s, raw ${raw.at(-1)?.perS}/s`)
  }
  await quiesce(rig)
  const a = medianRound(api)
  const r = medianRound(raw)
  return {
    api: a,
    raw: r,
    apiToRaw: ratio(a.perS, r.perS),
    rounds: { api: api.map((x) => x.perS), raw: raw.map((x) => x.perS) },
    cpuMsPerWrite: { api: cpu.api.perUnit(), raw: cpu.raw.perUnit() },
  }
}

/** Waits until a consumer group has members with partitions, so no run starts with a rebalance. */
async function waitForGroup(rig: Rig, groupId: string) {
  const admin = rig.kafka.admin()
  await admin.connect()
  try {
    for (let i = 0; i < 600; i += 1) {
      const { groups } = await admin.describeGroups([groupId])
      if (groups[0]?.state === 'Stable' && groups[0].members.length > 0) return
      await delay(100)
    }
    throw new Error(`consumer group ${groupId} did not become stable in 60 s`)
  } finally {
    await admin.disconnect()
  }
}

/**
 * Waits until the consumer has applied every event written so far: one per book and order row,
 * plus the events the bulk writer put straight into the outbox.
 */
export async function quiesce(rig: Rig, timeoutS = 600) {
  const deadline = Date.now() + timeoutS * 1000
  for (;;) {
    const [row] = await rig.sql<{ written: number; applied: number }[]>`
      select (select count(*) from books) + (select count(*) from orders) + ${bulkEventsWritten()}::int as written,
             (select count(*) from consumed_events where topic like 'outbox.events.%') as applied`
    if (Number(row?.applied) >= Number(row?.written)) return
    if (Date.now() > deadline)
      throw new Error(
        `the consumer is ${Number(row?.written) - Number(row?.applied)} events behind after ${timeoutS} s`,
      )
    await delay(250)
  }
}

/** One end-to-end run at `rate`, with the CPU it cost per event by process. */
async function measuredRun(
  ctx: BenchContext,
  writer: WriterKind,
  rate: number,
  seconds: number,
  topicPrefix: string,
) {
  const meter = new CpuMeter(ctx.rig.stackDir)
  const result = await meter.measure(
    () =>
      endToEnd({
        sql: ctx.rig.sql,
        writer: writerOf(writer, { client: ctx.client, sql: ctx.writerSql, bookIds: ctx.bookIds }),
        ratePerS: rate,
        seconds,
        topicPrefix,
        say: ctx.say,
      }),
    (r) => r.latencyMs.count,
  )
  result.cpuMsPerEvent = meter.perUnit()
  return result
}

export async function steadyPhase(ctx: BenchContext, topicPrefix = 'outbox.events.', label = 'CDC') {
  const results: EndToEndResult[] = []
  for (const { rate, writer } of ctx.settings.steady) {
    if (topicPrefix === 'outbox.events.') await quiesce(ctx.rig)
    ctx.say(`${label} end to end at ${rate} events/s (${writer} writer) for ${ctx.settings.steadySeconds} s`)
    const result = await measuredRun(ctx, writer, rate, ctx.settings.steadySeconds, topicPrefix)
    ctx.say(
      `  p50 ${result.latencyMs.p50} p95 ${result.latencyMs.p95} p99 ${result.latencyMs.p99} max ${result.latencyMs.max} ms (${result.achievedPerS}/s achieved)`,
    )
    results.push(result)
  }
  return results
}

/**
 * The highest rate held for the whole hold: starts at the target; while a rate holds, tries
 * `holdStep` more; when the first does not, steps down 15% below what was achieved.
 */
export async function holdPhase(ctx: BenchContext) {
  const attempts: EndToEndResult[] = []
  let rate = ctx.settings.holdRate
  let heldOnce = false
  for (let attempt = 0; attempt < 4; attempt += 1) {
    await quiesce(ctx.rig)
    ctx.say(`hold: ${rate} events/s (bulk writer) for ${ctx.settings.holdSeconds} s`)
    const result = await measuredRun(ctx, 'bulk', rate, ctx.settings.holdSeconds, 'outbox.events.')
    attempts.push(result)
    const held = kept(result)
    ctx.say(
      `  ${held ? 'held' : 'not held'}: ${result.achievedPerS}/s achieved, backlog growth ${result.backlogGrowthPerS}/s, p99 ${result.latencyMs.p99} ms`,
    )
    if (held) {
      heldOnce = true
      rate += ctx.settings.holdStep
      continue
    }
    if (heldOnce) break
    rate = Math.floor((Math.min(rate, result.achievedPerS) * 0.85) / 50) * 50
  }
  return attempts
}

export async function consumerPhase(
  { rig, bookIds, settings, say }: BenchContext,
  consumerEnv: Record<string, string> = {},
) {
  const namespace = `bench.consume${Date.now()}`
  const count = settings.consumeEvents
  say(`consumer: ${count} OrderPlaced records, the consumer (inbox + read model) vs kafkajs alone`)
  const admin = rig.kafka.admin()
  await admin.connect()
  await ensureEventTopics(admin, namespace, 3)
  await admin.disconnect()
  await produceOrderEvents(rig.kafka, namespace, bookIds, count)
  const cpu = { consumer: new CpuMeter(rig.stackDir), raw: new CpuMeter(rig.stackDir) }
  const rawSeconds = await cpu.raw
    .measure(
      async () => ({ s: await rawConsume(rig.kafka, namespace, count) }),
      () => count,
    )
    .then((r) => r.s)
  say(`  kafkajs alone: ${Math.round(count / rawSeconds)}/s`)
  rig.startConsumer('bench-consumer', {
    ...consumerEnv,
    TOPIC_NAMESPACE: namespace,
    CONSUMER_GROUP: `${namespace}-group`,
  })
  const appliedSeconds = await cpu.consumer
    .measure(
      async () => ({ s: await consumerSpan(rig.sql, namespace, count) }),
      () => count,
    )
    .then((r) => r.s)
  await rig.kill('bench-consumer')
  say(`  consumer: ${Math.round(count / appliedSeconds)}/s`)
  const consumerPerS = Math.round(count / appliedSeconds)
  const rawPerS = Math.round(count / rawSeconds)
  return {
    events: count,
    consumerPerS,
    rawPerS,
    consumerToRaw: ratio(consumerPerS, rawPerS),
    cpuMsPerEvent: { consumer: cpu.consumer.perUnit(), raw: cpu.raw.perUnit() },
  }
}

/**
 * How fast each publisher empties a backlog into Kafka: the same events written while both were
 * stopped, then CDC (connector resumed) and the relay (started) timed until all are in Kafka.
 */
export async function publishPhase({ rig, bookIds, settings, say }: BenchContext) {
  const count = settings.publishEvents
  say(`publish: ${count} events written while stopped, then time until each publisher has them in Kafka`)
  for (const name of rig.consumerNames) await rig.kill(name)
  const admin = rig.kafka.admin()
  await admin.connect()
  await ensureEventTopics(admin, relayNamespace, 3)
  const drainNamespace = 'relay.drain'
  await ensureEventTopics(admin, drainNamespace, 3)
  await rig.connect.pause(rig.connectorEnv.CONNECTOR_NAME)
  await installRelayTable(rig.sql)
  const cdcBefore = await recordsIn(admin, 'outbox.events')
  await writeOutboxEvents(rig.sql, bookIds, count)
  await rig.connect.resume(rig.connectorEnv.CONNECTOR_NAME)
  const cdcSeconds = await waitForRecords(admin, 'outbox.events', cdcBefore + count)
  const cdcPerS = Math.round(count / cdcSeconds)
  say(`  CDC ${cdcPerS}/s`)
  // The connector stays paused from here on, so the relay phases see only the relay's deliveries.
  await rig.connect.pause(rig.connectorEnv.CONNECTOR_NAME)
  const relayPerS: Record<string, number> = {}
  for (const [i, intervalMs] of settings.relayIntervalsMs.entries()) {
    // The first backlog was written with the CDC one (the trigger copied it); later ones are new.
    if (i > 0) await writeOutboxEvents(rig.sql, bookIds, count)
    const before = await recordsIn(admin, drainNamespace)
    const relay = new PollingRelay(rig.sql, rig.kafka, {
      intervalMs,
      batchSize: 500,
      namespace: drainNamespace,
    })
    await relay.start()
    const seconds = await waitForRecords(admin, drainNamespace, before + count)
    await relay.stop()
    relayPerS[String(intervalMs)] = Math.round(count / seconds)
    say(`  relay polling every ${intervalMs} ms: ${relayPerS[String(intervalMs)]}/s`)
  }
  await admin.disconnect()
  const ratios = Object.fromEntries(Object.entries(relayPerS).map(([k, v]) => [k, ratio(cdcPerS, v)]))
  return { events: count, cdcPerS, relayPerS, cdcToRelay: ratios }
}

/** The relay measured as CDC was: same loads, same consumer, its own group and topics. */
export async function relayPhase(ctx: BenchContext) {
  ctx.rig.startConsumer('relay-consumer', { TOPIC_NAMESPACE: relayNamespace, CONSUMER_GROUP: 'bench-relay' })
  await waitForGroup(ctx.rig, 'bench-relay')
  const byInterval: Record<string, EndToEndResult[]> = {}
  for (const intervalMs of ctx.settings.relayIntervalsMs) {
    const relay = new PollingRelay(ctx.rig.sql, ctx.rig.kafka, {
      intervalMs,
      batchSize: 500,
      namespace: relayNamespace,
    })
    await relay.start()
    byInterval[String(intervalMs)] = await steadyPhase(
      ctx,
      `${relayNamespace}.`,
      `relay every ${intervalMs} ms:`,
    )
    await relay.stop()
  }
  await ctx.rig.kill('relay-consumer')
  return byInterval
}
