import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type ConnectSecurityInput,
  type KafkaSecurityInput,
  kafkaAnswers,
  parseBrokers,
  redactUrl,
} from 'outbox-cdc'
import { connectSecurityOfEnv, kafkaSecurityOfEnv } from '../../lib/config.ts'
import {
  type ComponentName,
  ensureStarted,
  ensureStopped,
  type Owner,
  type StartOutcome,
} from './component.ts'
import { type StackConfig, type Topology, topologyFile } from './config.ts'
import {
  connectComponent,
  connectDebeziumProblem,
  connectWorkerName,
  localConnectUrl,
  localConnectUrls,
} from './connect.ts'
import { StackError } from './errors.ts'
import { ensureJars } from './jars.ts'
import { kafkaComponent, kafkaNodeName, localBrokers } from './kafka.ts'
import { localPostgresUrls, postgresAnswers, postgresComponent } from './postgres.ts'
import { assertShape, startPostgresWithStandby } from './postgres-address.ts'
import { assertServerMajor, choosePostgresServer } from './postgres-binaries.ts'
import { findToolchain } from './prereqs.ts'
import { isOurs, readRecord } from './processes.ts'
import type { Reporter } from './report.ts'
import {
  assertSecureShape,
  ensureSecureMaterial,
  isSecure,
  stackConnectSecurity,
  stackKafkaSecurity,
} from './secure.ts'

/** How to reach each component, whether the stack started it or it was given by URL. */
export interface StackInfo {
  /** The secured stack (STACK_SECURE): TLS in the Postgres URLs, and the security below. */
  secure: boolean
  postgres: { url: string; adminUrl: string; managed: boolean }
  kafka: { brokers: string[]; managed: boolean; security?: KafkaSecurityInput | undefined }
  /** `url` is worker 1's (or CONNECT_URL); `workers`, every local worker's. */
  connect: { url: string; workers: string[]; managed: boolean; security?: ConnectSecurityInput | undefined }
}

export const componentOrder: ComponentName[] = ['postgres', 'kafka', 'connect']

const numbered = (count: number, name: (n: number) => ComponentName) =>
  Array.from({ length: count }, (_, i) => name(i + 1))

/** The components this configuration runs, in start order: Postgres, every Kafka node, every worker. */
export function stackComponents(config: StackConfig): ComponentName[] {
  return [
    'postgres',
    ...(config.env.STACK_POSTGRES_STANDBY ? (['postgres-2', 'postgres-address'] as const) : []),
    ...numbered(config.env.STACK_KAFKA_NODES, kafkaNodeName),
    ...numbered(config.env.STACK_CONNECT_WORKERS, connectWorkerName),
  ]
}

/**
 * Components with a folder in the stack dir, whatever this configuration says: a stack started
 * with three nodes is stopped whole by a stack:down that was not told so.
 */
function componentsOnDisk(config: StackConfig): ComponentName[] {
  let names: string[] = []
  try {
    names = readdirSync(config.stackDir)
  } catch {
    return []
  }
  return names.filter((name) =>
    /^(postgres(-\d+|-address)?|kafka(-\d+)?|connect(-\d+)?)$/.test(name),
  ) as ComponentName[]
}

/** Start order: Postgres, then Kafka's nodes, then Connect's workers, each by number. */
const startOrder = (names: ComponentName[]) => {
  const rank = (name: string) => (name.startsWith('postgres') ? 0 : name.startsWith('kafka') ? 1 : 2)
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }))
}

export function stackInfo(config: StackConfig): StackInfo {
  const { env, managed } = config
  const pg = managed.postgres
    ? localPostgresUrls(config)
    : { url: env.DATABASE_URL ?? '', adminUrl: env.DATABASE_ADMIN_URL ?? env.DATABASE_URL ?? '' }
  return {
    secure: isSecure(config),
    postgres: { ...pg, managed: managed.postgres },
    kafka: {
      brokers: env.KAFKA_BROKERS ? parseBrokers(env.KAFKA_BROKERS) : localBrokers(config),
      managed: managed.kafka,
      // A cluster given by KAFKA_BROKERS is reached as every entry point reaches it: KAFKA_* settings.
      security: managed.kafka ? stackKafkaSecurity(config) : kafkaSecurityOfEnv(process.env),
    },
    connect: {
      url: env.CONNECT_URL ?? localConnectUrl(config),
      workers: env.CONNECT_URL ? [env.CONNECT_URL] : localConnectUrls(config),
      managed: managed.connect,
      security: managed.connect ? stackConnectSecurity(config) : connectSecurityOfEnv(process.env),
    },
  }
}

/**
 * The URL of the first local Connect worker whose process runs (worker 1's when none does): any
 * worker takes any REST request, so the commands keep working when a worker is lost for good.
 */
export function liveConnectUrl(config: StackConfig): string {
  const info = stackInfo(config)
  if (!config.managed.connect) return info.connect.url
  const alive = info.connect.workers.find((_, i) =>
    isOurs(readRecord(join(config.stackDir, connectWorkerName(i + 1), 'process.json'))),
  )
  return alive ?? info.connect.url
}

/**
 * Brings up whatever of Postgres, Kafka and Connect this stack manages, in dependency order, and
 * returns once each is healthy. A component already running as our process is left as it is.
 */
export async function stackUp(
  config: StackConfig,
  reporter: Reporter,
  /** Set by `npm start`: what it starts is marked as its own, to be stopped on its way out. */
  owner?: Owner,
): Promise<{ info: StackInfo; outcomes: Partial<Record<ComponentName, StartOutcome>> }> {
  const { managed } = config
  const needJvm = managed.kafka || managed.connect
  const server = await choosePostgresServer(config, reporter)
  const tools = findToolchain({
    needJvm,
    needPostgres: managed.postgres,
    ...(config.env.JAVA_HOME ? { javaHome: config.env.JAVA_HOME } : {}),
    ...(server.pgBin ? { pgBin: server.pgBin } : {}),
  })
  assertServerMajor(tools.pgBin, server.major)
  assertSecureShape(config)
  if (needJvm) await ensureJars(config.jarsDir, tools.mvn, reporter)
  if (isSecure(config))
    await reporter.step('certificates and passwords for the secured stack', async () =>
      ensureSecureMaterial(config),
    )
  if (managed.postgres || managed.kafka || managed.connect) saveTopology(config, reporter)

  const brokers = stackInfo(config).kafka.brokers
  const timeoutMs = config.env.STACK_START_TIMEOUT_S * 1000
  const outcomes: Partial<Record<ComponentName, StartOutcome>> = {}
  const start = async (component: Parameters<typeof ensureStarted>[0]) => {
    outcomes[component.name] = await reporter.step(`${component.name}`, () =>
      ensureStarted(component, reporter, timeoutMs, owner),
    )
  }

  if (managed.postgres && tools.pgBin) {
    if (config.env.STACK_POSTGRES_STANDBY) await startPostgresWithStandby(config, tools.pgBin, start)
    else {
      assertShape(config, false)
      await start(postgresComponent(config, tools.pgBin))
    }
  }
  // All nodes at once: a node of a three-node quorum cannot answer until a majority runs.
  const each = (count: number) => Array.from({ length: count }, (_, i) => i + 1)
  if (managed.kafka)
    await Promise.all(
      each(config.env.STACK_KAFKA_NODES).map((n) => start(kafkaComponent(config, tools.java, n))),
    )
  if (managed.connect)
    await Promise.all(
      each(config.env.STACK_CONNECT_WORKERS).map((n) =>
        start(connectComponent(config, tools.java, brokers, n)),
      ),
    )

  // Read after Postgres started: its first start is what creates the passwords.
  const info = stackInfo(config)
  await assertExternalHealthy(config, info)
  return { info, outcomes }
}

/**
 * Checks the shape asked for against the folder's, before anything starts, and saves it. Kafka's
 * node count is fixed once its storage is formatted (every node is a voter of a static quorum);
 * workers and exactly-once are worker settings, taken up when a worker (re)starts.
 */
export function saveTopology(config: StackConfig, reporter: Reporter) {
  const { env, saved } = config
  if (config.managed.kafka && saved?.kafkaNodes !== undefined && saved.kafkaNodes !== env.STACK_KAFKA_NODES)
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      `The stack in ${config.stackDir} runs ${saved.kafkaNodes} Kafka node(s); STACK_KAFKA_NODES=${env.STACK_KAFKA_NODES} asks for ${env.STACK_KAFKA_NODES}. ` +
        'Leave STACK_KAFKA_NODES unset (the folder keeps its own), or start over with `npm run stack:down -- --purge`.',
    )
  if (saved?.exactlyOnce !== undefined && saved.exactlyOnce !== env.CONNECTOR_EXACTLY_ONCE)
    reporter.info(
      `CONNECTOR_EXACTLY_ONCE is now ${env.CONNECTOR_EXACTLY_ONCE}: running Connect workers keep their setting until they restart (npm run stack:down, then stack:up).`,
    )
  mkdirSync(config.stackDir, { recursive: true })
  const topology: Topology = {
    kafkaNodes: env.STACK_KAFKA_NODES,
    connectWorkers: env.STACK_CONNECT_WORKERS,
    exactlyOnce: env.CONNECTOR_EXACTLY_ONCE,
    secure: env.STACK_SECURE,
    postgresStandby: env.STACK_POSTGRES_STANDBY,
    postgresReplication: env.STACK_POSTGRES_REPLICATION,
  }
  writeFileSync(topologyFile(config.stackDir), `${JSON.stringify(topology)}\n`)
}

async function assertExternalHealthy(config: StackConfig, info: StackInfo): Promise<void> {
  const problems: string[] = []
  if (!config.managed.postgres && !(await postgresAnswers(info.postgres.url)))
    problems.push('DATABASE_URL does not accept connections')
  if (!config.managed.kafka && !(await kafkaAnswers(info.kafka.brokers, 2000, info.kafka.security)))
    problems.push(`KAFKA_BROKERS (${info.kafka.brokers.join(',')}) does not answer metadata requests`)
  const connectProblem = config.managed.connect
    ? undefined
    : await connectDebeziumProblem(info.connect.url, info.connect.security)
  if (connectProblem) problems.push(`CONNECT_URL (${redactUrl(info.connect.url)}) ${connectProblem}`)
  if (problems.length > 0) {
    throw new StackError('NOT_HEALTHY', `External components are not usable:\n  - ${problems.join('\n  - ')}`)
  }
}

/**
 * Stops these components: Connect's workers, then Kafka's nodes, then Postgres, the nodes of one
 * kind together (a Kafka node stopped after the others has no quorum left for its controlled
 * shutdown and would sit out the whole grace period).
 */
export async function stopComponents(config: StackConfig, names: ComponentName[]) {
  const results: Partial<Record<ComponentName, 'stopped' | 'killed' | 'not-running'>> = {}
  for (const kind of ['connect', 'kafka', 'postgres']) {
    const group = names.filter((name) => name.startsWith(kind))
    const outcomes = await Promise.all(
      group.map((name) => ensureStopped({ name, dir: join(config.stackDir, name) })),
    )
    group.forEach((name, i) => {
      results[name] = outcomes[i]
    })
  }
  return results
}

/**
 * The components whose record names `ownerPid` as their owner and that still run: what one
 * `npm start` started or took over, however far it got, for it to stop on its way out.
 */
export function componentsOwnedBy(config: StackConfig, ownerPid: number): ComponentName[] {
  return startOrder(componentsOnDisk(config)).filter((name) => {
    const record = readRecord(join(config.stackDir, name, 'process.json'))
    return record?.owner?.pid === ownerPid && isOurs(record)
  })
}

/** Stops every process this stack started, newest first; `purge` also deletes data, logs and secrets. */
export async function stackDown(config: StackConfig, options: { purge: boolean }) {
  const results: Partial<Record<ComponentName, 'stopped' | 'killed' | 'not-running'>> = {}
  const names = startOrder([...componentOrder, ...componentsOnDisk(config)])
  Object.assign(results, await stopComponents(config, names))
  if (options.purge) {
    await rm(topologyFile(config.stackDir), { force: true })
    for (const name of [...names, 'secrets']) {
      await rm(join(config.stackDir, name), { recursive: true, force: true })
    }
  }
  return results
}
