import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { debeziumPostgresClass } from '../../lib/connect-client.ts'
import { kafkaAnswers, parseBrokers } from '../../lib/kafka.ts'
import { type ComponentName, ensureStarted, ensureStopped, type StartOutcome } from './component.ts'
import type { StackConfig } from './config.ts'
import { connectComponent, connectListsDebezium, localConnectUrl } from './connect.ts'
import { StackError } from './errors.ts'
import { ensureJars } from './jars.ts'
import { kafkaComponent, localBrokers } from './kafka.ts'
import { localPostgresUrls, postgresAnswers, postgresComponent } from './postgres.ts'
import { findToolchain } from './prereqs.ts'
import { isOurs, readRecord } from './processes.ts'
import type { Reporter } from './report.ts'

/** How to reach each component, whether the stack started it or it was given by URL. */
export interface StackInfo {
  postgres: { url: string; adminUrl: string; managed: boolean }
  kafka: { brokers: string[]; managed: boolean }
  connect: { url: string; managed: boolean }
}

export const componentOrder: ComponentName[] = ['postgres', 'kafka', 'connect']

export function stackInfo(config: StackConfig): StackInfo {
  const { env, managed } = config
  const pg = managed.postgres
    ? localPostgresUrls(config)
    : { url: env.DATABASE_URL ?? '', adminUrl: env.DATABASE_ADMIN_URL ?? env.DATABASE_URL ?? '' }
  return {
    postgres: { ...pg, managed: managed.postgres },
    kafka: {
      brokers: env.KAFKA_BROKERS ? parseBrokers(env.KAFKA_BROKERS) : localBrokers(config),
      managed: managed.kafka,
    },
    connect: { url: env.CONNECT_URL ?? localConnectUrl(config), managed: managed.connect },
  }
}

/**
 * Brings up whatever of Postgres, Kafka and Connect this stack manages, in dependency order, and
 * returns once each is healthy. A component already running as our process is left as it is.
 */
export async function stackUp(
  config: StackConfig,
  reporter: Reporter,
): Promise<{ info: StackInfo; outcomes: Partial<Record<ComponentName, StartOutcome>> }> {
  const { managed } = config
  const needJvm = managed.kafka || managed.connect
  const tools = findToolchain({
    needJvm,
    needPostgres: managed.postgres,
    ...(config.env.JAVA_HOME ? { javaHome: config.env.JAVA_HOME } : {}),
    ...(config.env.PG_BIN ? { pgBin: config.env.PG_BIN } : {}),
  })
  if (needJvm) await ensureJars(config.jarsDir, tools.mvn, reporter)

  const brokers = stackInfo(config).kafka.brokers
  const timeoutMs = config.env.STACK_START_TIMEOUT_S * 1000
  const outcomes: Partial<Record<ComponentName, StartOutcome>> = {}
  const start = async (component: Parameters<typeof ensureStarted>[0]) => {
    outcomes[component.name] = await reporter.step(`${component.name}`, () =>
      ensureStarted(component, reporter, timeoutMs),
    )
  }

  if (managed.postgres && tools.pgBin) await start(postgresComponent(config, tools.pgBin))
  if (managed.kafka) await start(kafkaComponent(config, tools.java))
  if (managed.connect) await start(connectComponent(config, tools.java, brokers))

  // Read after Postgres started: its first start is what creates the passwords.
  const info = stackInfo(config)
  await assertExternalHealthy(config, info)
  return { info, outcomes }
}

async function assertExternalHealthy(config: StackConfig, info: StackInfo): Promise<void> {
  const problems: string[] = []
  if (!config.managed.postgres && !(await postgresAnswers(info.postgres.url)))
    problems.push('DATABASE_URL does not accept connections')
  if (!config.managed.kafka && !(await kafkaAnswers(info.kafka.brokers)))
    problems.push(`KAFKA_BROKERS (${info.kafka.brokers.join(',')}) does not answer metadata requests`)
  if (!config.managed.connect && !(await connectListsDebezium(info.connect.url)))
    problems.push(`CONNECT_URL (${info.connect.url}) does not list ${debeziumPostgresClass}`)
  if (problems.length > 0) {
    throw new StackError('NOT_HEALTHY', `External components are not usable:\n  - ${problems.join('\n  - ')}`)
  }
}

/** Stops every process this stack started, newest first; `purge` also deletes data, logs and secrets. */
export async function stackDown(config: StackConfig, options: { purge: boolean }) {
  const results: Partial<Record<ComponentName, 'stopped' | 'killed' | 'not-running'>> = {}
  for (const name of [...componentOrder].reverse()) {
    results[name] = await ensureStopped({ name, dir: join(config.stackDir, name) })
  }
  if (options.purge) {
    for (const name of [...componentOrder, 'secrets']) {
      await rm(join(config.stackDir, name), { recursive: true, force: true })
    }
  }
  return results
}

export interface ComponentStatus {
  managed: boolean
  pid: number | null
  ports: number[]
  healthy: boolean
  log: string | null
}

/** Probes each component the way stack:up does; `ok` only when all three do their job. */
export async function stackStatus(config: StackConfig) {
  const info = stackInfo(config)
  const processOf = (name: ComponentName) => {
    const record = readRecord(join(config.stackDir, name, 'process.json'))
    return isOurs(record) ? record : undefined
  }
  const describe = (
    name: ComponentName,
    managed: boolean,
    ports: number[],
    healthy: boolean,
  ): ComponentStatus => {
    const record = managed ? processOf(name) : undefined
    return {
      managed,
      pid: record?.pid ?? null,
      ports: record?.ports ?? ports,
      healthy,
      log: record?.logFile ?? null,
    }
  }
  const [pgOk, kafkaOk, connectOk] = await Promise.all([
    postgresAnswers(info.postgres.url),
    kafkaAnswers(info.kafka.brokers),
    connectListsDebezium(info.connect.url),
  ])
  const { env } = config
  return {
    info,
    ok: pgOk && kafkaOk && connectOk,
    postgres: describe('postgres', config.managed.postgres, [env.POSTGRES_PORT], pgOk),
    kafka: describe('kafka', config.managed.kafka, [env.KAFKA_PORT, env.KAFKA_CONTROLLER_PORT], kafkaOk),
    connect: describe('connect', config.managed.connect, [env.CONNECT_PORT], connectOk),
  }
}
