import postgres from 'postgres'
import { ensureBookstoreTopics } from '../../connector/topics.ts'
import { CpuMeter } from '../measurement/cpu.ts'
import { sampleRss } from '../measurement/rss.ts'
import { ratio } from '../measurement/stats.ts'
import { drainOf, lastApplied, rawConsume, watchGroupJoin } from '../workloads/consume.ts'
import { type BaselineRecord, baselineRecord, runSqlBaseline } from '../workloads/consumer-sql-baseline.ts'
import { produceOrderEvents } from '../workloads/throughput.ts'
import type { BenchContext } from './context.ts'
import { settle } from './settle.ts'

/** `count` sales as the consumer's batches would see them, spread over `partitions` as Kafka spreads random keys. */
function baselineRecords(
  topic: string,
  bookIds: string[],
  count: number,
  partitions: number,
): BaselineRecord[] {
  const next = new Array<number>(partitions).fill(0)
  return Array.from({ length: count }, (_, i) => {
    const partition = i % partitions
    const offset = next[partition] ?? 0
    next[partition] = offset + 1
    return baselineRecord(topic, partition, offset, bookIds[i % bookIds.length] ?? '')
  })
}

/**
 * The consumer (inbox + read model, its own process) draining `consumeEvents` OrderPlaced
 * records, against two floors: kafkajs alone reading the same records (what Kafka and the client
 * cost), and the consumer's own SQL sent from plain postgres.js at the same batch size, partitions
 * at once and pool (what the database costs), with and without prepared statements. The two
 * consumers are timed alike, from their group join to the last record handled.
 */
export async function consumerPhase(ctx: BenchContext, consumerEnv: Record<string, string> = {}) {
  const { rig, bookIds, settings, say } = ctx
  const namespace = `bench.consume${Date.now()}`
  const count = settings.consumeEvents
  const partitions = settings.consumerPartitionsConcurrently
  say(`consumer: ${count} OrderPlaced records; the consumer vs kafkajs alone vs its SQL from postgres.js`)
  const admin = rig.kafka.admin()
  await admin.connect()
  await ensureBookstoreTopics(admin, namespace, 3)
  await admin.disconnect()
  await produceOrderEvents(rig.kafka, namespace, bookIds, count)
  const cpu = {
    consumer: new CpuMeter(rig.stackDir),
    raw: new CpuMeter(rig.stackDir),
    sqlPrepared: new CpuMeter(rig.stackDir),
    sqlUnprepared: new CpuMeter(rig.stackDir),
  }

  await settle(rig, say)
  const raw = await cpu.raw.measure(
    () => rawConsume(rig.kafka, namespace, count, partitions),
    () => count,
  )
  say(`  kafkajs alone: ${Math.round(count / raw.seconds)}/s`)

  await settle(rig, say)
  const group = `${namespace}-group`
  const watcher = await watchGroupJoin(rig.kafka, group)
  rig.startConsumer('bench-consumer', { ...consumerEnv, TOPIC_NAMESPACE: namespace, CONSUMER_GROUP: group })
  // Timed and metered from the join: the process's start (tsx, connecting) is not the drain.
  const joinedAtMs = await watcher.joinedAtMs
  // Its memory through the drain: kafkajs fetches in bounded batches whatever the lag.
  const rss = sampleRss(() => rig.pidOf('bench-consumer'))
  const consumer = await cpu.consumer.measure(
    async () => drainOf(joinedAtMs, await lastApplied(rig.sql, namespace, count)),
    () => count,
  )
  const consumerRssMb = rss.stop()
  await rig.kill('bench-consumer')
  say(
    `  consumer: ${Math.round(count / consumer.seconds)}/s, RSS ${consumerRssMb.before} MB at the join, ${consumerRssMb.peak} MB at most`,
  )

  const sqlSeconds: Record<'prepared' | 'unprepared', number> = { prepared: 0, unprepared: 0 }
  for (const variant of ['prepared', 'unprepared'] as const) {
    const records = baselineRecords(`${namespace}-sql-${variant}.order`, bookIds, count, partitions)
    const pool = postgres(rig.info.postgres.url, {
      max: settings.consumerPoolMax,
      onnotice: () => {},
      prepare: variant === 'prepared',
    })
    try {
      await settle(rig, say)
      const meter = variant === 'prepared' ? cpu.sqlPrepared : cpu.sqlUnprepared
      sqlSeconds[variant] = await meter.measure(
        () => runSqlBaseline(pool, records, settings.consumerBatchSize, partitions),
        () => count,
      )
    } finally {
      await pool.end({ timeout: 5 })
    }
    say(`  the consumer's SQL from postgres.js (${variant}): ${Math.round(count / sqlSeconds[variant])}/s`)
  }

  const consumerPerS = Math.round(count / consumer.seconds)
  const rawPerS = Math.round(count / raw.seconds)
  const sqlPerS = {
    prepared: Math.round(count / sqlSeconds.prepared),
    unprepared: Math.round(count / sqlSeconds.unprepared),
  }
  return {
    events: count,
    batchSize: settings.consumerBatchSize,
    partitionsConcurrently: partitions,
    consumerPerS,
    rawPerS,
    consumerToRaw: ratio(consumerPerS, rawPerS),
    consumerRssMb,
    sqlPerS,
    consumerToSql: {
      prepared: ratio(consumerPerS, sqlPerS.prepared),
      unprepared: ratio(consumerPerS, sqlPerS.unprepared),
    },
    cpuMsPerEvent: {
      consumer: cpu.consumer.perUnit(),
      raw: cpu.raw.perUnit(),
      sqlPrepared: cpu.sqlPrepared.perUnit(),
      sqlUnprepared: cpu.sqlUnprepared.perUnit(),
    },
  }
}

export type ConsumerPhaseResult = Awaited<ReturnType<typeof consumerPhase>>
