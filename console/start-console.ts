import type { Kafka } from 'kafkajs'
import { createConnectClient, createKafka, parseBrokers, redriveGroupOf, startEventTail } from 'outbox-cdc'
import postgres from 'postgres'
import type { DoctorSetup } from '../doctor/config.ts'
import { deadLetterTopic } from '../lib/events.ts'
import type { Logger } from '../lib/logger.ts'
import { buildConsoleApp } from './app.ts'
import { type ConsoleConfig, consoleUrl } from './config.ts'
import { createRecentEvents } from './recent-events.ts'
import { createSampler } from './sampler.ts'

/** The secret's name in the stack's secrets folder (`console-token.password`). */
export const consoleTokenSecret = 'console-token'

/** Fifteen minutes of samples, as the charts show. */
const keepMs = 15 * 60 * 1000

/**
 * Starts the console: its clients, the sampler, the event tail and the page, listening on
 * CONSOLE_HOST:CONSOLE_PORT. `stop()` closes all of it and leaves no consumer group behind.
 */
export async function startConsole(o: {
  config: ConsoleConfig
  doctor: DoctorSetup
  token: string
  log: Logger
  /** The page's request log; off in tests. */
  requestLog?: boolean
}) {
  const { config, doctor } = o
  const brokers = parseBrokers(doctor.connector.KAFKA_BROKERS)
  const timeoutS = Math.max(1, Math.ceil(config.CONSOLE_TIMEOUT_MS / 1000))
  const sql = postgres(doctor.databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: timeoutS })
  // The checks give up fast (a sample must not wait on a dead broker); the tail keeps trying.
  const checkKafka: Kafka = createKafka({
    brokers,
    clientId: 'outbox-cdc-console',
    retry: { retries: 1 },
    connectionTimeout: Math.min(config.CONSOLE_TIMEOUT_MS, 3000),
  })
  const tailKafka = createKafka({ brokers, clientId: 'outbox-cdc-console-tail' })
  const connect = createConnectClient(doctor.connector.CONNECT_URL, config.CONSOLE_TIMEOUT_MS)
  const sampler = createSampler({
    deps: { sql, connect, kafka: checkKafka },
    targets: doctor.targets,
    apiUrl: config.apiUrl,
    consumerUrl: config.consumerUrl,
    timeoutMs: config.CONSOLE_TIMEOUT_MS,
    intervalMs: config.CONSOLE_SAMPLE_MS,
    keepMs,
    onError: (error) => o.log.error({ err: error }, 'console sample failed'),
  })
  const events = createRecentEvents(500)
  const tail = startEventTail({
    kafka: tailKafka,
    namespace: doctor.targets.namespace,
    fromBeginning: false,
    groupPrefix: 'outbox-cdc-console-tail-',
    onEvent: events.push,
    onError: (error) => o.log.warn({ err: error }, 'event tail: Kafka not reachable, trying again'),
  })
  let port = config.CONSOLE_PORT
  const app = await buildConsoleApp({
    sampler,
    events,
    connect,
    kafka: checkKafka,
    connectorName: doctor.targets.connectorName,
    namespace: doctor.targets.namespace,
    deadLetterTopic: deadLetterTopic(doctor.targets.namespace),
    redriveGroup: redriveGroupOf(doctor.targets.consumerGroup),
    token: o.token,
    allowedHosts: () => [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      new URL(consoleUrl(config, port)).host,
      ...config.CONSOLE_ALLOWED_HOSTS,
    ],
    logger: o.requestLog === false ? false : o.log,
    timeoutMs: config.CONSOLE_TIMEOUT_MS,
  })
  await app.listen({ host: config.CONSOLE_HOST, port: config.CONSOLE_PORT })
  const address = app.server.address()
  if (address && typeof address === 'object') port = address.port
  sampler.start()
  return {
    app,
    port,
    url: consoleUrl(config, port),
    sampler,
    async stop() {
      await app.close()
      await sampler.stop()
      await tail.stop()
      await sql.end({ timeout: 2 })
    },
  }
}

export type RunningConsole = Awaited<ReturnType<typeof startConsole>>

/** The address npm start prints: the token rides in the fragment, which the browser never sends. */
export const consoleUrlWithToken = (url: string, token: string) => `${url}#token=${token}`
