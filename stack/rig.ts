import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  connectPostgres,
  createConnectClient,
  createKafka,
  isRunning,
  provisionConnector,
  registerConnector,
} from 'outbox-cdc'
import {
  buildConnectorConfig,
  loadConnectorConfig,
  provisionOptionsOf,
  registerOptionsOf,
} from '../connector/config.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { connectorPasswordKey, connectorSecretsFile } from '../lib/replication.ts'
import { createSupervisor, tsxArgs } from '../lib/supervisor.ts'
import { type ComponentName, ensureStopped } from './lib/component.ts'
import { loadStackConfig, repoRoot, type StackConfig } from './lib/config.ts'
import { findFreePort, findFreePortRun } from './lib/ports.ts'
import { killProcessGroup, readRecord } from './lib/processes.ts'
import { consoleReporter } from './lib/report.ts'
import { secureEnvDefaults } from './lib/secure.ts'
import { liveConnectUrl, stackDown, stackInfo, stackUp } from './lib/stack.ts'

/**
 * A whole pipeline of real processes on a stack of its own (temp dir, free ports), so processes
 * can be SIGKILLed without touching anyone else's: Postgres, Kafka and Connect from the stack, the
 * API and `consumers` consumer processes spawned as a supervisor would (restarted if they exit).
 */
export interface RigOptions {
  consumers: number
  /** Settings for the API and consumer processes (pool sizes, batch sizes…), over the rig's own. */
  serviceEnv?: Record<string, string>
  /** Settings for one consumer process by name (`consumer-1`…), over `serviceEnv`. */
  consumerEnv?: Record<string, Record<string, string>>
  /** Connector settings (CONNECTOR_* env names) over the defaults. */
  connectorEnv?: Record<string, string>
  /** JVM heap for Kafka and Connect each; small by default, as the fault suite runs several restarts. */
  jvmHeap?: string
  /** Each JVM's heap resident from its start (STACK_JVM_PRETOUCH): for measuring memory over time. */
  jvmPreTouch?: boolean
  /** Name of the temp dir, so one rig's processes are told apart from another's. */
  name?: string
  /**
   * Postgres settings that need a server restart (track_commit_timestamp…): written with ALTER
   * SYSTEM and applied by restarting Postgres once, before anything else connects to it.
   */
  postgresSettings?: Record<string, string>
  /** Kafka nodes and Connect workers (1 each by default), as STACK_KAFKA_NODES / STACK_CONNECT_WORKERS. */
  kafkaNodes?: number
  connectWorkers?: number
  /** Exactly-once source delivery on the workers and the connector (CONNECTOR_EXACTLY_ONCE). */
  exactlyOnce?: boolean
  /**
   * Runs the fulfilment service too, so every order goes on to fulfilled or cancelled (the saga).
   * Off by default: the throughput phases and the failover suite measure the order side alone.
   */
  fulfilment?: boolean
  /** The secured stack (STACK_SECURE): SASL_SSL Kafka, Connect behind basic auth, Postgres on TLS. */
  secure?: boolean
  /** How often the brokers delete records past retention (STACK_KAFKA_RETENTION_CHECK_MS). */
  retentionCheckMs?: number
}

export async function startRig(options: RigOptions) {
  const stackDir = mkdtempSync(join(tmpdir(), `outbox-${options.name ?? 'faults'}-`))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DIR: stackDir,
    STACK_JARS_DIR: loadStackConfig().jarsDir,
    STACK_JVM_HEAP: options.jvmHeap ?? '512m',
    STACK_JVM_PRETOUCH: String(options.jvmPreTouch ?? false),
    ...(await rigPorts(options.kafkaNodes ?? 1, options.connectWorkers ?? 1)),
    STACK_KAFKA_NODES: String(options.kafkaNodes ?? 1),
    STACK_CONNECT_WORKERS: String(options.connectWorkers ?? 1),
    CONNECTOR_EXACTLY_ONCE: String(options.exactlyOnce ?? false),
    STACK_SECURE: String(options.secure ?? false),
    ...(options.retentionCheckMs ? { STACK_KAFKA_RETENTION_CHECK_MS: String(options.retentionCheckMs) } : {}),
  }
  const config = loadStackConfig(env)
  const say = (line: string) => console.log(`[rig] ${line}`)
  try {
    return await wire(config, env, stackDir, say, options)
  } catch (error) {
    // A rig that fails half way must not leave its stack running.
    await stackDown(config, { purge: true })
    rmSync(stackDir, { recursive: true, force: true })
    throw error
  }
}

async function wire(
  config: StackConfig,
  env: NodeJS.ProcessEnv,
  stackDir: string,
  say: (line: string) => void,
  options: RigOptions,
) {
  await stackUp(config, consoleReporter(say))
  const info = stackInfo(config)
  if (options.postgresSettings)
    await applyPostgresSettings(config, info.postgres.adminUrl, options.postgresSettings)
  await migrateDatabase(info.postgres.url)

  const connectorEnv = loadConnectorConfig({
    CONNECTOR_EXACTLY_ONCE: String(options.exactlyOnce ?? false),
    ...options.connectorEnv,
    CONNECT_URL: info.connect.url,
    KAFKA_BROKERS: info.kafka.brokers.join(','),
    DATABASE_URL: info.postgres.url,
    CONNECTOR_DB_PASSWORD_REF: `\${file:${join(config.secretsDir, connectorSecretsFile)}:${connectorPasswordKey}}`,
  })
  const kafka = createKafka({
    brokers: info.kafka.brokers,
    clientId: 'fault-rig',
    security: info.kafka.security,
  })
  const admin = kafka.admin()
  await admin.connect()
  const connect = createConnectClient(info.connect.url, 10_000, { security: info.connect.security })
  await provisionConnector(admin, connect, provisionOptionsOf(connectorEnv), say).finally(() =>
    admin.disconnect(),
  )

  const apiPort = await findFreePort()
  const serviceEnv = {
    ...env,
    DATABASE_URL: info.postgres.url,
    KAFKA_BROKERS: info.kafka.brokers.join(','),
    // The consumers' inbox pruners read the connector's position here, not wherever the caller's points.
    CONNECT_URL: info.connect.url,
    CONNECTOR_NAME: connectorEnv.CONNECTOR_NAME,
    // The secured stack's CA, users and password files: given here, as KAFKA_BROKERS is.
    ...secureEnvDefaults(config),
    API_PORT: String(apiPort),
    LOG_LEVEL: 'error',
    CONSUMER_HEALTH_PORT: '0',
    // Long enough to ride out a Postgres restart without exiting; an exit is restarted anyway.
    CONSUMER_RETRY_MAX_ATTEMPTS: '20',
    CONSUMER_RETRY_MAX_MS: '2000',
    ...options.serviceEnv,
  }
  const services = createSupervisor({
    cwd: repoRoot,
    // Back within seconds once what a service waits for is back: the suite measures recovery.
    policy: { initialDelayMs: 500, maxDelayMs: 4000, healthyAfterMs: 10_000 },
    output: { file: (name) => join(stackDir, `${name}.log`) },
    onExit: (name, { code, signal, delayMs }) =>
      say(`${name} exited (${signal ?? code}); restarting it in ${delayMs} ms`),
  })
  const entries = { api: 'api/server.ts', consumer: 'consumer/main.ts', fulfilment: 'fulfilment/main.ts' }
  const run = (name: string, entry: string, env: Record<string, string> = {}) =>
    services.start(name, {
      args: tsxArgs(join(repoRoot, entry)),
      env: { ...serviceEnv, ...options.consumerEnv?.[name], ...env },
    })
  const consumerNames = Array.from({ length: options.consumers }, (_, i) => `consumer-${i + 1}`)
  run('api', entries.api)
  for (const name of consumerNames) run(name, entries.consumer)
  if (options.fulfilment)
    run('fulfilment', entries.fulfilment, {
      FULFILMENT_HEALTH_PORT: '0',
      // A port of its own when asked (the soak reads its /metrics).
      ...options.consumerEnv?.fulfilment,
    })
  say(
    `service logs: ${stackDir}/{api,${consumerNames.join(',')}${options.fulfilment ? ',fulfilment' : ''}}.log`,
  )

  const sql = connectPostgres(info.postgres.url, { max: 2, onnotice: () => {} })
  /** A client for the first Connect worker still running: any worker takes any request. */
  const liveConnect = () =>
    createConnectClient(liveConnectUrl(config), 10_000, { security: stackInfo(config).connect.security })
  const apiUrl = `http://127.0.0.1:${apiPort}`

  return {
    apiUrl,
    sql,
    stackDir,
    info,
    kafka,
    connect,
    liveConnect,
    config,
    connectorEnv,
    /** Updates the connector's config (a PUT, as connector:register does) and waits until it runs. */
    async reconfigureConnector(overrides: Record<string, string>) {
      const next = loadConnectorConfig({
        ...Object.fromEntries(Object.entries(connectorEnv).map(([k, v]) => [k, String(v)])),
        ...overrides,
      })
      await registerConnector(liveConnect(), buildConnectorConfig(next), registerOptionsOf(next), () => {})
    },
    consumerNames,
    get unexpectedExits() {
      return services.unexpectedExits
    },
    /** Starts another consumer with settings of its own (another group, namespace or database). */
    startConsumer(name: string, env: Record<string, string>) {
      run(name, entries.consumer, env)
    },
    /** Replaces the API process with one started with these settings over the rig's. */
    async restartApi(env: Record<string, string>) {
      await services.kill('api')
      run('api', entries.api, env)
    },
    /** The pid of a service process (api, consumer-N), while it runs. */
    pidOf: (name: string) => services.pidOf(name),
    /** Sends a service process a signal: SIGSTOP freezes it mid-work, SIGCONT lets it go on. */
    signal(name: string, signal: 'SIGSTOP' | 'SIGCONT') {
      services.signal(name, signal)
    },
    /**
     * SIGKILL, as a crash or the OOM killer would, then wait until it is gone: a service process
     * (not restarted until `restart`; SIGTERM stops it cleanly instead), or a stack component as a
     * whole instance (its process group: Postgres' backends too).
     */
    async kill(name: ComponentName | 'api' | string, signal: NodeJS.Signals = 'SIGKILL') {
      if (services.has(name)) return services.kill(name, signal)
      const record = readRecord(join(stackDir, name, 'process.json'))
      if (!record) throw new Error(`no process for ${name}`)
      await killProcessGroup(record)
    },
    /** Starts again whatever was killed: a stack component through stack:up, a service with its last settings. */
    async restart(name: ComponentName | 'api' | string) {
      if (services.has(name)) services.restart(name)
      else
        await stackUp(
          config,
          consoleReporter(() => {}),
        )
    },
    async connectorHealthy() {
      return isRunning(
        await liveConnect()
          .status(connectorEnv.CONNECTOR_NAME)
          .catch(() => undefined),
      )
    },
    async stop() {
      await services.stop('SIGKILL')
      if (process.env.FAULT_KEEP_LOGS) say(`kept ${stackDir}`)
      await sql.end({ timeout: 2 }).catch(() => {})
      await stackDown(config, { purge: !process.env.FAULT_KEEP_LOGS })
      if (!process.env.FAULT_KEEP_LOGS) rmSync(stackDir, { recursive: true, force: true })
    },
  }
}

export type Rig = Awaited<ReturnType<typeof wire>>

/** ALTER SYSTEM each setting, then restart Postgres (a clean stop, then stack:up starts it again). */
async function applyPostgresSettings(
  config: StackConfig,
  adminUrl: string,
  settings: Record<string, string>,
) {
  const admin = connectPostgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    for (const [name, value] of Object.entries(settings)) {
      if (!/^[a-z_]+$/.test(name)) throw new Error(`not a Postgres setting name: ${name}`)
      // ALTER SYSTEM takes no parameters; the value is quoted as a literal.
      await admin.unsafe(`alter system set ${name} = '${value.replaceAll("'", "''")}'`)
    }
  } finally {
    await admin.end({ timeout: 5 })
  }
  await ensureStopped({ name: 'postgres', dir: join(config.stackDir, 'postgres') })
  await stackUp(
    config,
    consoleReporter(() => {}),
  )
}

/**
 * Ports for Postgres, every Kafka node's broker and controller, and every Connect worker, in one
 * run of free ports, numbered as the stack numbers them (node n: port + n - 1).
 */
async function rigPorts(nodes: number, workers: number) {
  const base = await findFreePortRun(1 + 2 * nodes + workers)
  return {
    POSTGRES_PORT: String(base),
    KAFKA_PORT: String(base + 1),
    KAFKA_CONTROLLER_PORT: String(base + 1 + nodes),
    CONNECT_PORT: String(base + 1 + 2 * nodes),
  }
}
