import type { FastifyBaseLogger } from 'fastify'
import type { Kafka } from 'kafkajs'
import { createConnectClient } from '../connector/connect-client.ts'
import { listParkedKeys } from '../consumer/parked-letters.ts'
import type { DoctorCheck, DoctorTargets } from '../doctor/check.ts'
import { createKafka, quietWhileDisconnecting } from '../kafka/client.ts'
import { type Logger, silentLogger } from '../logger.ts'
import type { OutboxTableName } from '../outbox/table-name.ts'
import type { ConnectSecurityInput } from '../security/connect.ts'
import type { KafkaSecurityInput } from '../security/kafka.ts'
import { connectPostgres } from '../security/postgres.ts'
import { startEventTail } from '../tools/event-tail.ts'
import { buildConsoleApp } from './app.ts'
import { consoleMemory } from './memory.ts'
import { createRecentEvents } from './recent-events.ts'
import { createSampler } from './sampler.ts'
import type { StageId } from './stages.ts'

export interface ConsoleOptions<T extends DoctorTargets = DoctorTargets> {
  /** The service's database, read by the checks (a role that reads pg_replication_slots fully). */
  postgresUrl: string
  brokers: string[]
  /** TLS and SASL for its Kafka clients, as createKafka takes them. */
  kafkaSecurity?: KafkaSecurityInput | undefined
  connectUrl: string
  /** Basic auth and TLS for Connect's REST API. */
  connectSecurity?: ConnectSecurityInput | undefined
  /** What the doctor looks at: the same targets as `outbox-cdc doctor`. */
  targets: T
  /** The doctor's checks: the toolkit's (`doctorChecks`) and the service's own. */
  checks: readonly DoctorCheck<T>[]
  /** Where a check of the service's own shows, when not the read model (`{ 'my.check': ['connector'] }`). */
  stages?: Readonly<Record<string, readonly StageId[]>> | undefined
  /** Base URL of the service that appends: its /health and /metrics. Unset: that stage is amber. */
  writerUrl?: string | undefined
  /** Base URL of the consumer's health server (startHealthServer). Unset: that stage is amber. */
  consumerUrl?: string | undefined
  /** Where the consumers keep their parked keys, which the page lists; none shown when not given. */
  parkedLetters?: OutboxTableName | undefined
  /** Where the page listens: loopback unless told otherwise. Port 0 takes a free one. */
  host?: string
  port?: number
  /** Other `host:port` names it answers to (it answers only requests addressed to itself). */
  allowedHosts?: readonly string[]
  /** The token the actions need (pause, resume, restart, redrive); reads are open. At least 32 characters. */
  token: string
  /** How often the checks and both /metrics are sampled, and how long one may take. */
  sampleMs?: number
  timeoutMs?: number
  log?: Logger
  /** The actions' request log (a pino logger); off when unset. */
  requestLog?: FastifyBaseLogger | undefined
  /** Told each action carried out (pause, resume, restart, a redrive that sent), as a line. */
  onAction?: ((line: string) => void) | undefined
}

/** How a browser addresses the console: a wildcard bind is reached on loopback, IPv6 in brackets. */
export function consoleUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}/`
}

/** The address to open: the token rides in the fragment, which the browser never sends. */
export const consoleUrlWithToken = (url: string, token: string) => `${url}#token=${encodeURIComponent(token)}`

/**
 * Starts the ops console: its clients, the sampler, the event tail and the page. `stop()` closes
 * all of it and leaves no consumer group behind.
 */
export async function startConsole<T extends DoctorTargets>(o: ConsoleOptions<T>) {
  if (o.token.length < 32) throw new RangeError('the console token must be at least 32 characters')
  const log = o.log ?? silentLogger
  const host = o.host ?? '127.0.0.1'
  const timeoutMs = o.timeoutMs ?? 4000
  const timeoutS = Math.max(1, Math.ceil(timeoutMs / 1000))
  const sql = connectPostgres(o.postgresUrl, { max: 2, onnotice: () => {}, connect_timeout: timeoutS })
  // The checks give up fast (a sample must not wait on a dead broker); the tail keeps trying.
  const checkKafka: Kafka = createKafka({
    brokers: o.brokers,
    security: o.kafkaSecurity,
    clientId: 'outbox-cdc-console',
    retry: { retries: 1 },
    connectionTimeout: Math.min(timeoutMs, 3000),
  })
  const tailKafka = createKafka({
    brokers: o.brokers,
    security: o.kafkaSecurity,
    clientId: 'outbox-cdc-console-tail',
  })
  // It shows a Connect that answers 409 as it finds it (as the doctor does), not after waiting for it to settle.
  const connect = createConnectClient(o.connectUrl, timeoutMs, {
    settleWaitMs: 0,
    security: o.connectSecurity,
  })
  const sampler = createSampler({
    deps: { sql, connect, kafka: checkKafka },
    targets: o.targets,
    checks: o.checks,
    stages: o.stages,
    writerUrl: o.writerUrl?.replace(/\/+$/, ''),
    consumerUrl: o.consumerUrl?.replace(/\/+$/, ''),
    timeoutMs,
    intervalMs: o.sampleMs ?? 3000,
    keepMs: consoleMemory.sampleKeepMs,
    onError: (error) => log.error({ err: error }, 'console sample failed'),
  })
  const events = createRecentEvents(consoleMemory.recentEvents)
  const tail = startEventTail({
    kafka: tailKafka,
    namespace: o.targets.namespace,
    fromBeginning: false,
    groupPrefix: 'outbox-cdc-console-tail-',
    onEvent: events.push,
    onError: (error) => log.warn({ err: error }, 'event tail: Kafka not reachable, trying again'),
  })
  let port = o.port ?? 3002
  const app = await buildConsoleApp({
    sampler,
    events,
    connect,
    kafka: checkKafka,
    connectorName: o.targets.connectorName,
    namespace: o.targets.namespace,
    deadLetterTopic: o.targets.deadLetters.topic,
    redriveGroup: o.targets.deadLetters.redriveGroup,
    ...(o.parkedLetters ? { parkedKeys: () => listParkedKeys(sql, o.parkedLetters as OutboxTableName) } : {}),
    token: o.token,
    allowedHosts: () => [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      new URL(consoleUrl(host, port)).host,
      ...(o.allowedHosts ?? []),
    ],
    logger: o.requestLog ?? false,
    ...(o.onAction ? { onAction: o.onAction } : {}),
    timeoutMs,
  })
  try {
    await app.listen({ host, port })
  } catch (error) {
    await Promise.allSettled([app.close(), tail.stop(), sql.end({ timeout: 2 })])
    throw error
  }
  const address = app.server.address()
  if (address && typeof address === 'object') port = address.port
  sampler.start()
  return {
    app,
    port,
    url: consoleUrl(host, port),
    sampler,
    /** Closes every part even when one fails (a Kafka gone while the tail stops), then reports the first failure. */
    async stop() {
      const closed = await quietWhileDisconnecting(checkKafka, () =>
        quietWhileDisconnecting(tailKafka, () =>
          Promise.allSettled([app.close(), sampler.stop(), tail.stop()]),
        ),
      )
      await sql.end({ timeout: 2 })
      const failed = closed.find((r) => r.status === 'rejected')
      if (failed) throw failed.reason
    },
  }
}

export type RunningConsole = Awaited<ReturnType<typeof startConsole>>
