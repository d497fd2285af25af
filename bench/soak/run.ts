import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import { parseEnv } from '../../lib/config.ts'
import { deadLetterTopic } from '../../lib/events.ts'
import { findFreePort } from '../../stack/lib/ports.ts'
import { readRecord } from '../../stack/lib/processes.ts'
import { startRig } from '../../stack/rig.ts'
import { benchPostgresSettings } from '../phases/context.ts'
import { apiClient, seedBooks, waitForApi } from '../workloads/load.ts'
import { cliEnv, type DoctorRun, runDoctor, startConsole } from './beside.ts'
import { type MinuteLatency, minuteLatency } from './latency.ts'
import { collectOutcome } from './outcome.ts'
import { bytesUnder, databaseSizes, memoryOf, recordsOf } from './probes.ts'
import { renderSoakReport, type SoakResult } from './report.ts'
import { soakEnvSchema } from './settings.ts'
import { stopOnSignals } from './signals.ts'
import { type SoakSample, soakVerdicts } from './verdict.ts'
import { startWriters } from './writers.ts'

const settings = parseEnv(soakEnvSchema, process.env, 'soak')
const warmupMinutes = settings.SOAK_WARMUP_MINUTES ?? Math.min(10, Math.floor(settings.SOAK_MINUTES / 3))
const inboxes = ['consumed_events', 'fulfilment_inbox']
const started = performance.now()
const say = (line: string) =>
  console.log(`[soak +${Math.round((performance.now() - started) / 1000)}s] ${line}`)

const [consumerPort, fulfilmentPort, consolePort] = [
  await findFreePort(),
  await findFreePort(),
  await findFreePort(),
]
let cleanUp = async () => {}
// Installed before the stack starts: its components run detached and would outlive the soak. A
// soak stopped by a signal keeps its stack's logs, as a failed one does: both are runs to read.
stopOnSignals(async () => {
  process.env.FAULT_KEEP_LOGS = '1'
  // startRig stops what it started when it fails; once it is up, cleanUp (by then the one below) stops it.
  await rigStarting.catch(() => {})
  await cleanUp()
}, say)
const rigStarting = startRig({
  name: 'soak',
  // Touched at start, the heaps count from the first sample: Kafka's RSS rose 5 MB a minute for
  // 20 minutes as G1 first used more of its heap, which is neither a leak nor the soak's question.
  jvmPreTouch: true,
  consumers: 1,
  fulfilment: true,
  // Autovacuum runs and checkpoints in Postgres' log: the first things to read when a minute stalls.
  postgresSettings: { ...benchPostgresSettings, log_autovacuum_min_duration: '1s', log_checkpoints: 'on' },
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
  consumerEnv: {
    'consumer-1': { CONSUMER_HEALTH_PORT: String(consumerPort) },
    fulfilment: { FULFILMENT_HEALTH_PORT: String(fulfilmentPort) },
  },
})
const rig = await rigStarting
const env = cliEnv(rig, {
  INBOX_RETENTION: settings.SOAK_INBOX_RETENTION,
  DLQ_RETENTION_MS: String(settings.SOAK_TOPIC_RETENTION_MS),
  CONSOLE_PORT: String(consolePort),
  CONSOLE_TOKEN: crypto.randomUUID() + crypto.randomUUID(),
  CONSOLE_API_URL: rig.apiUrl,
  CONSOLE_CONSUMER_URL: `http://127.0.0.1:${consumerPort}`,
})
const consolePs = startConsole(rig, env)
const writerSql = postgres(rig.info.postgres.url, { max: 4, onnotice: () => {} })
const client = apiClient(rig.apiUrl, 64)
const admin = rig.kafka.admin()
let cleaning: Promise<void> | undefined
// Everything the soak started goes with it, on a signal (Ctrl-C, CI's timeout) as at its end.
cleanUp = () =>
  (cleaning ??= (async () => {
    await admin.disconnect().catch(() => {})
    await consolePs.stop()
    await client.close().catch(() => {})
    await writerSql.end({ timeout: 2 }).catch(() => {})
    await rig.stop()
  })())

/** A measurement that failed during the load: counted as an error, never a crash without a report. */
const measurementErrors: string[] = []
const noting = (what: string) => (error: unknown) => {
  measurementErrors.push(`${what}: ${String(error)}`)
  say(`${what} failed: ${String(error)}`)
}

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
  const [before] = await rig.sql<{ units: Record<string, number>; t0: Date }[]>`
    select coalesce(jsonb_object_agg(book_id, units_sold), '{}'::jsonb) as units, clock_timestamp() as t0
    from catalogue`
  const record = (name: string) => readRecord(join(rig.stackDir, name, 'process.json'))?.pid
  const processes = () => ({
    api: { pid: rig.pidOf('api') },
    consumer: { pid: rig.pidOf('consumer-1') },
    fulfilment: { pid: rig.pidOf('fulfilment') },
    console: { pid: consolePs.pid() },
    postgres: { pid: record('postgres'), tree: true },
    kafka: { pid: record('kafka') },
    connect: { pid: record('connect') },
  })

  const seconds = settings.SOAK_MINUTES * 60
  const apiPerS = settings.SOAK_API_PER_S
  const bulkPerS = settings.SOAK_EVENTS_PER_S - apiPerS
  say(
    `${settings.SOAK_MINUTES} min at ${apiPerS + bulkPerS} orders/s: ${apiPerS} by POST /orders, ${bulkPerS} by the bulk writer`,
  )
  const writers = startWriters({
    client,
    sql: writerSql,
    bookIds,
    books,
    apiPerS,
    bulkPerS,
    perTx: settings.SOAK_BULK_PER_TX,
    seconds,
  })
  const { tally } = writers
  const atS = () => Math.round((performance.now() - writers.started) / 100) / 10
  let loading = true
  const load = writers.done.finally(() => {
    loading = false
  })

  const samples: SoakSample[] = []
  const doctorRuns: DoctorRun[] = []
  const latency: MinuteLatency[] = []
  const sampler = (async () => {
    for (let next = 0; loading; await delay(250)) {
      if (atS() < next) continue
      next += settings.SOAK_SAMPLE_S
      const db = await databaseSizes(rig.sql, inboxes).catch(noting(`sample at ${atS()} s`))
      if (!db) continue
      const kafkaLogMb = Math.round(bytesUnder(join(rig.stackDir, 'kafka', 'data')) / 2 ** 20)
      const sample = { s: atS(), memoryMb: memoryOf(processes()), ...db, kafkaLogMb }
      samples.push(sample)
      if (samples.length % 6 === 1)
        say(
          `${tally.apiOrders + tally.bulkOrders} orders; memory ${JSON.stringify(sample.memoryMb)}; inbox ${JSON.stringify(sample.inboxRows)}; WAL held ${sample.walRetainedMb} MB`,
        )
    }
  })()
  const doctor = (async () => {
    for (let minute = 0; loading; minute += 1) {
      await delay(Math.max(0, writers.started + minute * 60_000 + 30_000 - performance.now()))
      if (!loading) break
      const run = await runDoctor(env, atS())
      doctorRuns.push(run)
      if (!run.ok || run.notOk.length > 0)
        say(`doctor: ${run.ok ? 'passed' : 'FAILED'}; ${run.notOk.join(', ')}`)
    }
  })().catch(noting('the doctor'))
  // Each minute is read on its own schedule, 15 s after it ends, whatever the one before waits
  // for: read later, a short inbox retention would already have pruned part of it.
  const latencies = Promise.all(
    Array.from({ length: settings.SOAK_MINUTES }, async (_, minute) => {
      await delay(Math.max(0, writers.started + (minute + 1) * 60_000 + 15_000 - performance.now()))
      // The last minute's read takes the few commits that returned after the load's end too.
      const last = minute === settings.SOAK_MINUTES - 1
      const commits = [
        ...(tally.commitsByMinute[minute] ?? []),
        ...(last ? (tally.commitsByMinute[minute + 1] ?? []) : []),
      ]
      // Half a million event ids over a 30-minute run: let each minute's go once it is read.
      tally.commitsByMinute[minute] = []
      const m = await minuteLatency(rig.sql, inboxes, minute, commits, 120_000).catch(
        noting(`minute ${minute}`),
      )
      if (!m) return
      latency.push(m)
      say(
        `minute ${minute}: commit → applied ${inboxes.map((i) => `${i} p50 ${m.ms[i]?.p50} p99 ${m.ms[i]?.p99} ms`).join(', ')}`,
      )
    }),
  ).then(() => latency.sort((a, b) => a.minute - b.minute))
  await load
  await Promise.all([
    sampler.catch(noting('the sampler')),
    doctor,
    latencies.catch(noting('the latency reads')),
  ])

  say('load done: waiting for every order to be fulfilled')
  const { outcome, counters, firstErrors } = await collectOutcome({
    sql: rig.sql,
    t0: before?.t0 ?? new Date(),
    unitsBefore: before?.units ?? {},
    tally,
    stackDir: rig.stackDir,
    metricsOf: {
      consumer: `http://127.0.0.1:${consumerPort}`,
      fulfilment: `http://127.0.0.1:${fulfilmentPort}`,
    },
    deadLetters: async () => (await recordsOf(admin, dlq)) - lettersBefore,
    extraErrors: {
      doctor: doctorRuns.filter((r) => !r.ok).length,
      'console exited': consolePs.running() ? 0 : 1,
      'unexpected exits': rig.unexpectedExits,
      'events not applied 2 min after their minute': latency.reduce(
        (n, m) => n + Object.values(m.missing).reduce((a, b) => a + b, 0),
        0,
      ),
      measurements: measurementErrors.length,
    },
  })
  for (const line of [...firstErrors, ...measurementErrors]) say(line)
  const acknowledgedPerS = (tally.apiOrders + tally.bulkOrders) / seconds
  const verdicts = soakVerdicts({
    samples,
    latency,
    outcome,
    warmupS: warmupMinutes * 60,
    enforceTrends: settings.SOAK_MINUTES >= 10,
    rate: { offeredPerS: apiPerS + bulkPerS, acknowledgedPerS },
  })
  const result: SoakResult = {
    at: new Date().toISOString(),
    minutes: settings.SOAK_MINUTES,
    warmupMinutes,
    offered: { apiPerS, bulkPerS, bulkPerTx: settings.SOAK_BULK_PER_TX },
    achieved: {
      apiPerS: Math.round(tally.apiOrders / seconds),
      bulkPerS: Math.round(tally.bulkOrders / seconds),
    },
    shedByMinute: Array.from({ length: settings.SOAK_MINUTES }, (_, m) => tally.shedByMinute[m] ?? 0),
    retention: {
      inbox: settings.SOAK_INBOX_RETENTION,
      topicsMs: settings.SOAK_TOPIC_RETENTION_MS,
      dlqMs: settings.SOAK_TOPIC_RETENTION_MS,
    },
    samples,
    latency,
    doctor: doctorRuns,
    counters,
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
  // A failed soak keeps its stack's folder (every service's and component's log) to be read.
  if (!verdicts.ok) process.env.FAULT_KEEP_LOGS = '1'
} catch (error) {
  console.error(error)
  // A soak that crashed keeps its stack's logs too: they are how to find out why.
  process.env.FAULT_KEEP_LOGS = '1'
} finally {
  await cleanUp()
}
process.exit(exitCode)
