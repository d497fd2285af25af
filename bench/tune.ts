import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import { ensureBookstoreTopics } from '../connector/topics.ts'
import { runCli } from '../scripts/cli.ts'
import { repoRoot } from '../stack/lib/config.ts'
import { startRig } from '../stack/rig.ts'
import { cpuByComponent } from './measurement/cpu.ts'
import { benchPostgresSettings } from './phases/context.ts'
import { quiesce } from './phases/settle.ts'
import { drainOf, lastApplied, watchGroupJoin } from './workloads/consume.ts'
import { endToEnd, writerOf } from './workloads/end-to-end.ts'
import { apiClient, seedBooks, waitForApi } from './workloads/load.ts'
import { produceOrderEvents } from './workloads/throughput.ts'
import { apiWritePath, medianRound } from './workloads/write-path.ts'

/**
 * `npm run bench:tune`: one knob at a time on one stack, to choose the defaults. Consumer knobs
 * are timed draining 30,000 records; connector knobs by commit → applied latency at 1,000
 * events/s; the API's pool by POST /orders throughput. Writes bench/results/tuning.{json,md}.
 */
const consumerVariants: Record<string, string>[] = [
  { CONSUMER_BATCH_SIZE: '1' },
  { CONSUMER_BATCH_SIZE: '20' },
  { CONSUMER_BATCH_SIZE: '100' },
  { CONSUMER_BATCH_SIZE: '500' },
  { CONSUMER_BATCH_SIZE: '1000' },
  { CONSUMER_BATCH_SIZE: '100', CONSUMER_PARTITIONS_CONCURRENTLY: '1' },
  { CONSUMER_BATCH_SIZE: '500', CONSUMER_PARTITIONS_CONCURRENTLY: '1' },
  { CONSUMER_BATCH_SIZE: '100', DB_POOL_MAX: '2' },
]
const connectorVariants: Record<string, string>[] = [
  { CONNECTOR_POLL_INTERVAL_MS: '500' },
  { CONNECTOR_POLL_INTERVAL_MS: '100' },
  { CONNECTOR_POLL_INTERVAL_MS: '25' },
  { CONNECTOR_POLL_INTERVAL_MS: '10' },
  { CONNECTOR_POLL_INTERVAL_MS: '10', CONNECTOR_PRODUCER_LINGER_MS: '0' },
  { CONNECTOR_POLL_INTERVAL_MS: '10', CONNECTOR_PRODUCER_LINGER_MS: '50' },
  { CONNECTOR_POLL_INTERVAL_MS: '10', CONNECTOR_MAX_BATCH_SIZE: '256' },
]
const apiPools = [5, 10, 20, 32]

async function main() {
  // TUNE_ONLY=consumer,connector,api runs a subset.
  const only = new Set((process.env.TUNE_ONLY ?? 'consumer,connector,api').split(','))
  const say = (line: string) => console.log(`[tune] ${line}`)
  const rig = await startRig({
    consumers: 1,
    jvmHeap: '768m',
    name: 'tune',
    postgresSettings: benchPostgresSettings,
  })
  const client = apiClient(rig.apiUrl, 512)
  const writerSql = postgres(rig.info.postgres.url, { max: 4, onnotice: () => {} })
  const out: { consumer: unknown[]; connector: unknown[]; apiPool: unknown[] } = {
    consumer: [],
    connector: [],
    apiPool: [],
  }
  const lines: string[] = []
  try {
    await waitForApi(rig.apiUrl)
    const bookIds = await seedBooks(client, 50)
    const admin = rig.kafka.admin()
    await admin.connect()
    lines.push('| consumer setting | events/s applied |', '|---|---|')
    for (const [i, env] of (only.has('consumer') ? consumerVariants : []).entries()) {
      const namespace = `tune.consume${i}x${Date.now()}`
      await ensureBookstoreTopics(admin, namespace, 3)
      await produceOrderEvents(rig.kafka, namespace, bookIds, 30_000)
      // Timed as npm run bench times it: from the group join (watched before the process starts)
      // to the commit of the last apply transaction, not from the first record applied.
      const watcher = await watchGroupJoin(rig.kafka, namespace)
      rig.startConsumer(`tune-consumer-${i}`, {
        ...env,
        TOPIC_NAMESPACE: namespace,
        CONSUMER_GROUP: namespace,
      })
      const drain = drainOf(await watcher.joinedAtMs, await lastApplied(rig.sql, namespace, 30_000))
      const perS = Math.round(30_000 / drain.seconds)
      await rig.kill(`tune-consumer-${i}`)
      say(`consumer ${JSON.stringify(env)}: ${perS}/s`)
      out.consumer.push({ env, perS })
      lines.push(
        `| ${Object.entries(env)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')} | ${perS} |`,
      )
    }
    await admin.disconnect()

    lines.push(
      '',
      '| connector setting | p50 / p95 / p99 / max ms at 1,000 events/s | Connect CPU when idle |',
      '|---|---|---|',
    )
    const writer = writerOf('bulk', { client, sql: writerSql, bookIds })
    for (const env of only.has('connector') ? connectorVariants : []) {
      await rig.reconfigureConnector(env)
      // A short run first: the task restarted on the new config, and its first seconds are not steady.
      await endToEnd({
        sql: rig.sql,
        inbox: rig.sql,
        kafka: rig.kafka,
        writer,
        ratePerS: 1000,
        seconds: 5,
        topicPrefix: 'outbox.events.',
        say: () => {},
      })
      await quiesce(rig)
      const r = await endToEnd({
        sql: rig.sql,
        inbox: rig.sql,
        kafka: rig.kafka,
        writer,
        ratePerS: 1000,
        seconds: 20,
        topicPrefix: 'outbox.events.',
        say: () => {},
      })
      const l = r.latencyMs
      // What a short poll interval costs when nothing happens: Connect's CPU over 10 idle seconds.
      const idleBefore = cpuByComponent(rig.stackDir).connect ?? 0
      await delay(10_000)
      const idleCpu =
        Math.round((((cpuByComponent(rig.stackDir).connect ?? 0) - idleBefore) / 10) * 1000) / 10
      say(`connector ${JSON.stringify(env)}: p50 ${l.p50} p99 ${l.p99} ms, idle Connect CPU ${idleCpu}%`)
      out.connector.push({ env, latencyMs: l, achievedPerS: r.achievedPerS, idleConnectCpuPercent: idleCpu })
      const setting = Object.entries(env).map(([k, v]) => `${k}=${v}`)
      lines.push(`| ${setting.join(', ')} | ${l.p50} / ${l.p95} / ${l.p99} / ${l.max} | ${idleCpu}% |`)
    }
    await rig.reconfigureConnector({})

    lines.push(
      '',
      '| API `DB_POOL_MAX` | POST /orders per s (median of 3 × 10 s, 32 callers) | p99 ms |',
      '|---|---|---|',
    )
    for (const pool of only.has('api') ? apiPools : []) {
      await rig.restartApi({ DB_POOL_MAX: String(pool) })
      await waitForApi(rig.apiUrl)
      await apiWritePath(client, bookIds, 32, 5)
      const rounds = [] as Awaited<ReturnType<typeof apiWritePath>>[]
      for (let i = 0; i < 3; i += 1) rounds.push(await apiWritePath(client, bookIds, 32, 10))
      const median = medianRound(rounds)
      say(`API pool ${pool}: ${median.perS}/s p99 ${median.latencyMs.p99} ms`)
      out.apiPool.push({
        pool,
        perS: median.perS,
        latencyMs: median.latencyMs,
        rounds: rounds.map((r) => r.perS),
      })
      lines.push(`| ${pool} | ${median.perS} | ${median.latencyMs.p99} |`)
      await quiesce(rig)
    }
    const dir = join(repoRoot, 'bench', 'results')
    mkdirSync(dir, { recursive: true })
    const name = only.size === 3 ? 'tuning' : `tuning-${[...only].join('-')}`
    writeFileSync(
      join(dir, `${name}.json`),
      `${JSON.stringify({ at: new Date().toISOString(), ...out }, null, 2)}\n`,
    )
    writeFileSync(join(dir, `${name}.md`), `${lines.join('\n')}\n`)
    console.log(`\n${lines.join('\n')}`)
  } finally {
    await client.close()
    await writerSql.end({ timeout: 5 })
    await rig.stop()
  }
  return 0
}

runCli(main)
