import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { z } from 'zod'
import { consumerEnvSchema } from '../consumer/config.ts'
import { parseEnv } from '../lib/config.ts'
import { runCli } from '../scripts/cli.ts'
import { repoRoot } from '../stack/lib/config.ts'
import { startRig } from '../stack/rig.ts'
import { consumerPhase } from './phases/consumer-phase.ts'
import { type BenchContext, benchPostgresSettings } from './phases/context.ts'
import { holdPhase, steadyPhase } from './phases/end-to-end-phases.ts'
import { exactlyOncePhase } from './phases/exactly-once-phase.ts'
import { overloadPhase } from './phases/overload-phase.ts'
import { publishPhase } from './phases/publish-phase.ts'
import { relayPhase } from './phases/relay-phase.ts'
import { sagaPhase } from './phases/saga-phase.ts'
import { writePathPhase } from './phases/write-path-phase.ts'
import { guardRatios, guardTable } from './report/guard.ts'
import { renderReport } from './report/report.ts'
import { apiClient, seedBooks, waitForApi } from './workloads/load.ts'
import { apiWritePath } from './workloads/write-path.ts'

const phaseNames = [
  'write',
  'steady',
  'hold',
  'consumer',
  'publish',
  'relay',
  'exactly-once',
  'saga',
  'overload',
] as const
const list = (schema: z.ZodType<number>) =>
  z.string().transform((text, ctx) =>
    text.split(',').map((part) => {
      const parsed = schema.safeParse(Number(part))
      if (!parsed.success) ctx.addIssue({ code: 'custom', message: `${part} is not a valid value` })
      return parsed.data ?? 0
    }),
  )
const rate = z.number().int().min(1).max(100_000)

const benchEnvSchema = z.object({
  BENCH_PHASES: z
    .string()
    .default(phaseNames.join(','))
    .pipe(
      z
        .string()
        .transform((t) => t.split(','))
        .pipe(z.array(z.enum(phaseNames))),
    ),
  BENCH_LABEL: z
    .string()
    .regex(/^[a-z0-9-]+$/)
    .default('latest'),
  BENCH_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(32),
  BENCH_WRITE_S: z.coerce.number().int().min(1).max(600).default(10),
  BENCH_STEADY_S: z.coerce.number().int().min(5).max(600).default(30),
  /** rate:writer pairs; the API writer POSTs one order per request, bulk commits 10 events per transaction. */
  BENCH_STEADY: z
    .string()
    .regex(/^\d+:(api|bulk)(,\d+:(api|bulk))*$/, 'must look like 100:api,1000:bulk')
    .default('100:api,1000:bulk')
    .transform((text) =>
      text.split(',').map((pair) => {
        const [r, w] = pair.split(':')
        return { rate: Number(r), writer: w as 'api' | 'bulk' }
      }),
    ),
  BENCH_WRITE_ROUNDS: z.coerce.number().int().min(1).max(20).default(3),
  BENCH_HOLD_S: z.coerce.number().int().min(10).max(3600).default(60),
  BENCH_HOLD_RATE: z.coerce.number().pipe(rate).default(4000),
  BENCH_HOLD_STEP: z.coerce.number().pipe(rate).default(2000),
  BENCH_PUBLISH_EVENTS: z.coerce.number().int().min(100).max(10_000_000).default(20_000),
  BENCH_CONSUME_EVENTS: z.coerce.number().int().min(100).max(10_000_000).default(50_000),
  /** CDC and the relay are compared at each of these poll intervals, both polling at the same one. */
  BENCH_RELAY_INTERVALS_MS: list(z.number().int().min(1).max(60_000)).default([25, 100]),
  /** The API's pool (the raw write-path baseline gets the same). */
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** Where the .json/.md/.svg go (the guard writes to a temp dir, not over the published files). */
  BENCH_RESULTS_DIR: z
    .string()
    .min(1)
    .default(join(repoRoot, 'bench', 'results')),
  /** A published results .json: compare this run's ratios with its own, and exit 1 on a collapse. */
  BENCH_GUARD_AGAINST: z.string().endsWith('.json').optional(),
  // The consumer's settings as the consumer reads them (its defaults), for the SQL baseline.
  CONSUMER_BATCH_SIZE: consumerEnvSchema.shape.CONSUMER_BATCH_SIZE,
  CONSUMER_PARTITIONS_CONCURRENTLY: consumerEnvSchema.shape.CONSUMER_PARTITIONS_CONCURRENTLY,
})

const version = (command: string, args: string[]) => {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n')[0]
  } catch {
    return 'unknown'
  }
}

function machine() {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'))
  const pkg = (name: string) => lock.packages[`node_modules/${name}`]?.version ?? 'unknown'
  const pom = readFileSync(join(repoRoot, 'stack', 'pom.xml'), 'utf8')
  const prop = (name: string) => pom.match(new RegExp(`<${name}>([^<]+)</${name}>`))?.[1] ?? 'unknown'
  return {
    cpu: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: version('uname', ['-sr']),
    node: process.version,
    // java -version writes to stderr.
    java: spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr?.split('\n')[0] ?? 'unknown',
    kafka: prop('version.kafka'),
    debezium: prop('version.debezium'),
    packages: Object.fromEntries(
      ['fastify', 'drizzle-orm', 'postgres', 'kafkajs', 'undici'].map((n) => [n, pkg(n)]),
    ),
  }
}

/** `npm run bench -- --report <file.json>` renders a recorded run again (its .md and .svg beside it). */
function rerender(file: string) {
  const report = renderReport(JSON.parse(readFileSync(file, 'utf8')))
  writeFileSync(file.replace(/\.json$/, '.md'), report.markdown)
  writeFileSync(file.replace(/\.json$/, '.svg'), report.svg)
  console.log(report.markdown)
  return 0
}

async function main() {
  const reportAt = process.argv.indexOf('--report')
  if (reportAt > 0) {
    const file = process.argv[reportAt + 1]
    if (!file?.endsWith('.json')) throw new Error('--report needs the path of a results .json file')
    return rerender(file)
  }
  const env = parseEnv(benchEnvSchema, process.env, 'bench')
  const say = (line: string) => console.log(`[bench] ${line}`)
  const connectorEnv = Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[0].startsWith('CONNECTOR_') && e[1] !== undefined,
    ),
  )
  const settings: BenchContext['settings'] = {
    concurrency: env.BENCH_CONCURRENCY,
    apiPoolMax: env.DB_POOL_MAX,
    writeSeconds: env.BENCH_WRITE_S,
    steadySeconds: env.BENCH_STEADY_S,
    steady: env.BENCH_STEADY,
    writeRounds: env.BENCH_WRITE_ROUNDS,
    holdSeconds: env.BENCH_HOLD_S,
    holdRate: env.BENCH_HOLD_RATE,
    holdStep: env.BENCH_HOLD_STEP,
    publishEvents: env.BENCH_PUBLISH_EVENTS,
    consumeEvents: env.BENCH_CONSUME_EVENTS,
    relayIntervalsMs: env.BENCH_RELAY_INTERVALS_MS,
    consumerBatchSize: env.CONSUMER_BATCH_SIZE,
    consumerPartitionsConcurrently: env.CONSUMER_PARTITIONS_CONCURRENTLY,
    // The consumer reads DB_POOL_MAX too, with a default of its own when it is not set.
    consumerPoolMax: consumerEnvSchema.shape.DB_POOL_MAX.parse(process.env.DB_POOL_MAX),
  }
  const startedAt = new Date().toISOString()
  say(`phases: ${env.BENCH_PHASES.join(', ')}; starting a stack of its own (temp dir, free ports)`)
  const rig = await startRig({
    consumers: 1,
    jvmHeap: '768m',
    name: 'bench',
    connectorEnv,
    postgresSettings: benchPostgresSettings,
  })
  const client = apiClient(rig.apiUrl, 512)
  const writerSql = postgres(rig.info.postgres.url, { max: 8, onnotice: () => {} })
  const results: Record<string, unknown> = {}
  let stopped = false
  const stopRig = async () => {
    if (stopped) return
    stopped = true
    await client.close()
    await writerSql.end({ timeout: 5 })
    await rig.stop()
  }
  // Ctrl-C stops the stack this run started, as the run itself would.
  const interrupted = async () => {
    say('interrupted; stopping the stack')
    await stopRig()
    process.exit(130)
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    const [pg] = await rig.sql<{ v: string }[]>`select version() as v`
    await waitForApi(rig.apiUrl)
    const bookIds = await seedBooks(client, 50)
    const ctx: BenchContext = { rig, client, writerSql, bookIds, settings, say }
    // Warm up the JIT, pools and connections before anything is timed.
    await writePathPhaseWarmup(ctx)
    process.on('unhandledRejection', (reason) =>
      say(`unhandled: ${String((reason as Error)?.stack ?? reason)}`),
    )
    const phases = env.BENCH_PHASES
    if (phases.includes('write')) results.writePath = await writePathPhase(ctx)
    if (phases.includes('steady')) results.steady = await steadyPhase(ctx)
    if (phases.includes('hold')) results.hold = await holdPhase(ctx)
    if (phases.includes('consumer')) results.consumer = await consumerPhase(ctx)
    if (phases.includes('publish')) results.publish = await publishPhase(ctx)
    if (phases.includes('relay')) results.relay = await relayPhase(ctx)
    if (phases.includes('overload')) results.overload = await overloadPhase(ctx)
    if (phases.includes('exactly-once')) {
      // Two stacks of its own, each alone on the machine: this one is stopped first.
      await stopRig()
      results.exactlyOnce = await exactlyOncePhase(settings, say)
    }
    if (phases.includes('saga')) {
      // A stack of its own with the fulfilment service; alone on the machine.
      await stopRig()
      results.saga = await sagaPhase(settings, say)
    }
    const record = {
      label: env.BENCH_LABEL,
      startedAt,
      finishedAt: new Date().toISOString(),
      machine: { ...machine(), postgres: pg?.v ?? 'unknown' },
      settings: { ...settings, connector: rig.connectorEnv, consumer: consumerSettings() },
      results,
    }
    const dir = env.BENCH_RESULTS_DIR
    mkdirSync(dir, { recursive: true })
    const report = renderReport(record)
    writeFileSync(join(dir, `${env.BENCH_LABEL}.json`), `${JSON.stringify(record, null, 2)}\n`)
    writeFileSync(join(dir, `${env.BENCH_LABEL}.md`), report.markdown)
    writeFileSync(join(dir, `${env.BENCH_LABEL}.svg`), report.svg)
    console.log(`\n${report.markdown}`)
    say(`wrote ${join(dir, env.BENCH_LABEL)}.{json,md,svg}`)
    if (env.BENCH_GUARD_AGAINST) {
      const published = JSON.parse(readFileSync(env.BENCH_GUARD_AGAINST, 'utf8')).results
      const rows = guardRatios(results, published)
      console.log(`\nGuard against ${env.BENCH_GUARD_AGAINST}:\n${guardTable(rows)}\n`)
      if (rows.some((row) => !row.ok)) return 1
    }
  } finally {
    await stopRig()
  }
  return 0
}

/** The consumer settings in force (from the environment, else the consumer's defaults). */
function consumerSettings() {
  return Object.fromEntries(Object.entries(process.env).filter((e) => /^(CONSUMER_|DB_POOL_MAX$)/.test(e[0])))
}

async function writePathPhaseWarmup(ctx: BenchContext) {
  ctx.say('warming up (10 s of orders, not counted)')
  await apiWritePath(ctx.client, ctx.bookIds, ctx.settings.concurrency, 10)
}

runCli(main)
