import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import { parseEnv } from '../../lib/config.ts'
import { deadLetterTopic } from '../../lib/events.ts'
import { waitUntil } from '../../lib/wait-until.ts'
import { findFreePort } from '../../stack/lib/ports.ts'
import { readRecord } from '../../stack/lib/processes.ts'
import { startRig } from '../../stack/rig.ts'
import type { BulkCommit } from '../measurement/commit-times.ts'
import { benchPostgresSettings } from '../phases/context.ts'
import { apiClient, openLoop, orderBody, seedBooks, waitForApi } from '../workloads/load.ts'
import { cliEnv, type DoctorRun, logLevels, runDoctor, startConsole } from './beside.ts'
import { type MinuteLatency, minuteLatency } from './latency.ts'
import { writeOrders } from './order-writer.ts'
import { bytesUnder, databaseSizes, memoryOf, recordsOf } from './probes.ts'
import { renderSoakReport, type SoakResult } from './report.ts'
import { soakEnvSchema } from './settings.ts'
import { type SoakOutcome, type SoakSample, soakVerdicts } from './verdict.ts'

const settings = parseEnv(soakEnvSchema, process.env, 'soak')
const warmupMinutes = settings.SOAK_WARMUP_MINUTES ?? Math.min(10, Math.floor(settings.SOAK_MINUTES / 3))
const inboxes = ['consumed_events', 'fulfilment_inbox']
const started = performance.now()
const elapsedS = () => Math.round((performance.now() - started) / 1000)
const say = (line: string) => console.log(`[soak +${elapsedS()}s] ${line}`)

const consumerPort = await findFreePort()
const rig = await startRig({
  name: 'soak',
  consumers: 1,
  fulfilment: true,
  postgresSettings: benchPostgresSettings,
  retentionCheckMs: 10_000,
  connectorEnv: {
    TOPIC_RETENTION_MS: String(settings.SOAK_TOPIC_RETENTION_MS),
    DLQ_RETENTION_MS: String(settings.SOAK_TOPIC_RETENTION_MS),
  },
  serviceEnv: {
    LOG_LEVEL: 'warn',
    INBOX_RETENTION: settings.SOAK_INBOX_RETENTION,
    INBOX_PRUNE_INTERVAL_MS: '10000',
    DLQ_RETENTION_MS: String(settings.SOAK_TOPIC_RETENTION_MS),
  },
  consumerEnv: { 'consumer-1': { CONSUMER_HEALTH_PORT: String(consumerPort) } },
})
const env = cliEnv(rig, {
  INBOX_RETENTION: settings.SOAK_INBOX_RETENTION,
  DLQ_RETENTION_MS: String(settings.SOAK_TOPIC_RETENTION_MS),
  CONSOLE_PORT: String(await findFreePort()),
  CONSOLE_TOKEN: crypto.randomUUID() + crypto.randomUUID(),
  CONSOLE_API_URL: rig.apiUrl,
  CONSOLE_CONSUMER_URL: `http://127.0.0.1:${consumerPort}`,
})
const consolePs = startConsole(rig, env)
const writerSql = postgres(rig.info.postgres.url, { max: 4, onnotice: () => {} })
const client = apiClient(rig.apiUrl, 64)
const admin = rig.kafka.admin()
let exitCode = 1
try {
  await admin.connect()
  await waitForApi(rig.apiUrl)
  const bookIds = await seedBooks(client, 20)
  const books = (
    await rig.sql<{ id: string; price_cents: number }[]>`
      select id::text, price_cents::int from books where id = any(${bookIds}::uuid[])`
  ).map((b) => ({ id: b.id, priceCents: b.price_cents }))
  const dlq = deadLetterTopic(rig.connectorEnv.TOPIC_NAMESPACE)
  const lettersBefore = await recordsOf(admin, dlq)
  const [before] = await rig.sql<{ units: number; t0: Date }[]>`
    select coalesce(sum(units_sold), 0)::int as units, clock_timestamp() as t0 from catalogue`
  const t0 = before?.t0 ?? new Date()
  const record = (name: string) => readRecord(join(rig.stackDir, name, 'process.json'))?.pid
  const processes = {
    api: { pid: rig.pidOf('api') },
    consumer: { pid: rig.pidOf('consumer-1') },
    fulfilment: { pid: rig.pidOf('fulfilment') },
    console: { pid: consolePs.pid() },
    postgres: { pid: record('postgres'), tree: true },
    kafka: { pid: record('kafka') },
    connect: { pid: record('connect') },
  }

  const seconds = settings.SOAK_MINUTES * 60
  const apiPerS = settings.SOAK_API_PER_S
  const bulkPerS = settings.SOAK_EVENTS_PER_S - apiPerS
  say(
    `${settings.SOAK_MINUTES} min at ${settings.SOAK_EVENTS_PER_S} orders/s: ${apiPerS} by POST /orders, ${bulkPerS} by the bulk writer`,
  )
  const loadStart = performance.now()
  const atS = () => Math.round((performance.now() - loadStart) / 100) / 10
  const commitsByMinute: BulkCommit[][] = []
  const failures = { api: 0, bulk: 0 }
  let apiOrders = 0
  let bulkOrders = 0
  let firstFailure: string | undefined
  // 503s by minute: a shed order is tried again after its Retry-After (the API's 1 s), as a client
  // should; it fails the soak only when still shed after five tries, or answered anything else.
  const shedByMinute: number[] = []
  const api = openLoop(apiPerS, seconds, 256, async (i) => {
    const body = orderBody(bookIds, i)
    for (let attempt = 1; ; attempt += 1) {
      const answer = await client.post('/orders', body)
      if (answer.status === 201) {
        apiOrders += 1
        return
      }
      if (answer.status === 503) {
        const minute = Math.floor((performance.now() - loadStart) / 60_000)
        shedByMinute[minute] = (shedByMinute[minute] ?? 0) + 1
        if (attempt < 5) {
          await delay(1000)
          continue
        }
      }
      failures.api += 1
      firstFailure ??= `POST /orders answered ${answer.status} (try ${attempt})`
      return
    }
  })
  const bulk = openLoop(bulkPerS / settings.SOAK_BULK_PER_TX, seconds, 64, async (i) => {
    const commit = await writeOrders(
      writerSql,
      books,
      settings.SOAK_BULK_PER_TX,
      i * settings.SOAK_BULK_PER_TX,
    ).catch((error: unknown) => {
      failures.bulk += 1
      firstFailure ??= `bulk writer: ${String(error)}`
      throw error
    })
    bulkOrders += commit.eventIds.length
    const minute = Math.floor((performance.now() - loadStart) / 60_000)
    const held = commitsByMinute[minute] ?? []
    held.push(commit)
    commitsByMinute[minute] = held
  })
  let loading = true
  const load = Promise.all([api, bulk]).finally(() => {
    loading = false
  })

  const samples: SoakSample[] = []
  const doctorRuns: DoctorRun[] = []
  const latency: MinuteLatency[] = []
  const sampler = (async () => {
    let next = 0
    while (loading) {
      const s = atS()
      if (s >= next) {
        const db = await databaseSizes(rig.sql, inboxes)
        const sample = {
          s,
          memoryMb: memoryOf({ ...processes, console: { pid: consolePs.pid() } }),
          ...db,
          kafkaLogMb: Math.round(bytesUnder(join(rig.stackDir, 'kafka', 'data')) / 2 ** 20),
        }
        samples.push(sample)
        next += settings.SOAK_SAMPLE_S
        if (samples.length % 6 === 1)
          say(
            `${apiOrders + bulkOrders} orders; memory ${JSON.stringify(sample.memoryMb)}; inbox ${JSON.stringify(sample.inboxRows)}; WAL held ${sample.walRetainedMb} MB`,
          )
      }
      await delay(250)
    }
  })()
  const doctor = (async () => {
    for (let minute = 0; loading; minute += 1) {
      await delay(Math.max(0, loadStart + minute * 60_000 + 30_000 - performance.now()))
      if (!loading) break
      const run = await runDoctor(env, atS())
      doctorRuns.push(run)
      if (!run.ok || run.notOk.length > 0)
        say(`doctor: ${run.ok ? 'passed' : 'FAILED'}; ${run.notOk.join(', ')}`)
    }
  })()
  const latencies = (async () => {
    for (let minute = 0; minute < settings.SOAK_MINUTES; minute += 1) {
      await delay(Math.max(0, loadStart + (minute + 1) * 60_000 + 15_000 - performance.now()))
      const m = await minuteLatency(rig.sql, inboxes, minute, commitsByMinute[minute] ?? [], 120_000)
      // Half a million event ids over a 30-minute run: let each minute's go once it is measured.
      commitsByMinute[minute] = []
      latency.push(m)
      say(
        `minute ${minute}: commit → applied ${inboxes.map((i) => `${i} p50 ${m.ms[i]?.p50} p99 ${m.ms[i]?.p99} ms`).join(', ')}`,
      )
    }
  })()
  const [apiRun, bulkRun] = await load
  await Promise.all([sampler, doctor, latencies])

  say('load done: waiting for every order to be fulfilled')
  const count = async () => {
    const [row] = await rig.sql<
      { orders: number; placed: number; fulfilled: number; shipments: number; quantity: number }[]
    >`
      select count(*)::int as orders, count(*) filter (where status = 'placed')::int as placed,
             count(*) filter (where status = 'fulfilled')::int as fulfilled,
             coalesce(sum(quantity), 0)::int as quantity,
             (select count(*)::int from shipments where created_at >= ${t0}) as shipments
      from orders where created_at >= ${t0}`
    return row ?? { orders: 0, placed: 0, fulfilled: 0, shipments: 0, quantity: 0 }
  }
  await waitUntil('every order fulfilled', async () => (await count()).placed === 0, {
    timeoutMs: 300_000,
    intervalMs: 1000,
  }).catch(() => {})
  const final = await count()
  const [after] = await rig.sql<
    { units: number }[]
  >`select coalesce(sum(units_sold), 0)::int as units from catalogue`
  const sold = (after?.units ?? 0) - (before?.units ?? 0)
  const levels = Object.fromEntries(
    ['api', 'consumer-1', 'fulfilment', 'console'].map((name) => [
      name,
      logLevels(join(rig.stackDir, `${name}.log`)),
    ]),
  )
  const outcome: SoakOutcome = {
    orders: final.orders,
    fulfilled: final.fulfilled,
    // Acknowledged but not in the database, written but not taken through the saga, or not
    // counted as sold by the order service's read model.
    lost:
      Math.max(0, apiOrders + bulkOrders - final.orders) +
      (final.orders - final.fulfilled) +
      Math.max(0, final.quantity - sold),
    appliedTwice: Math.max(0, sold - final.quantity),
    shipments: final.shipments,
    deadLetters: (await recordsOf(admin, dlq)) - lettersBefore,
    errors: {
      ...Object.fromEntries(Object.entries(levels).map(([name, l]) => [name, l.errors])),
      'POST /orders': failures.api,
      'bulk writer': failures.bulk,
      doctor: doctorRuns.filter((r) => !r.ok).length,
      'unexpected exits': rig.unexpectedExits,
    },
    warnings: Object.fromEntries(Object.entries(levels).map(([name, l]) => [name, l.warnings])),
  }
  for (const [name, l] of Object.entries(levels))
    if (l.firstError) say(`${name}'s first error: ${l.firstError}`)
  if (firstFailure) say(`first failed write: ${firstFailure}`)
  const verdicts = soakVerdicts({
    samples,
    latency,
    outcome,
    warmupS: warmupMinutes * 60,
    enforceTrends: settings.SOAK_MINUTES >= 10,
  })
  const result: SoakResult = {
    at: new Date().toISOString(),
    minutes: settings.SOAK_MINUTES,
    warmupMinutes,
    offered: { apiPerS, bulkPerS, bulkPerTx: settings.SOAK_BULK_PER_TX },
    shedByMinute: Array.from({ length: settings.SOAK_MINUTES }, (_, m) => shedByMinute[m] ?? 0),
    achieved: {
      apiPerS: Math.round(apiRun.achievedPerS),
      bulkPerS: Math.round(bulkRun.achievedPerS * settings.SOAK_BULK_PER_TX),
    },
    retention: {
      inbox: settings.SOAK_INBOX_RETENTION,
      topicsMs: settings.SOAK_TOPIC_RETENTION_MS,
      dlqMs: settings.SOAK_TOPIC_RETENTION_MS,
    },
    samples,
    latency,
    doctor: doctorRuns,
    outcome,
    verdicts,
  }
  mkdirSync(settings.SOAK_RESULTS_DIR, { recursive: true })
  const file = join(settings.SOAK_RESULTS_DIR, settings.SOAK_LABEL)
  writeFileSync(`${file}.json`, `${JSON.stringify(result, null, 1)}\n`)
  writeFileSync(`${file}.md`, renderSoakReport(result, settings.SOAK_LABEL))
  console.log(renderSoakReport(result, settings.SOAK_LABEL))
  say(`wrote ${file}.{json,md}: ${verdicts.ok ? 'passed' : 'FAILED'}`)
  exitCode = verdicts.ok ? 0 : 1
} catch (error) {
  console.error(error)
} finally {
  await admin.disconnect().catch(() => {})
  await consolePs.stop()
  await client.close()
  await writerSql.end({ timeout: 2 })
  await rig.stop()
}
process.exit(exitCode)
