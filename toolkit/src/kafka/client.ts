import { type Admin, Kafka, type KafkaConfig, type LogEntry, type logCreator, logLevel } from 'kafkajs'
import pRetry from 'p-retry'
import { type KafkaSecurityInput, kafkaClientSecurity, kafkaSecuritySchema } from '../security/kafka.ts'

/**
 * The one place that builds a Kafka client and decides what kafkajs logs: errors only unless
 * asked, through `kafkaLogCreator`. The consumer, the topic and DLQ tools use kafkajs's types
 * and calls directly, so another Kafka client would touch those files as well as this one.
 * `security` (TLS, SASL) is read here, files and secrets at once, so every client made from one
 * config reaches the same secured cluster.
 */
export function createKafka({
  security,
  ...options
}: {
  brokers: string[]
  clientId: string
  security?: KafkaSecurityInput | undefined
} & Partial<KafkaConfig>): Kafka {
  const secured = security ? kafkaClientSecurity(kafkaSecuritySchema.parse(security)) : {}
  const state = { disconnecting: 0 }
  const kafka = new Kafka({
    logLevel: logLevel.ERROR,
    logCreator: (configured) => {
      const write = kafkaLogCreator(configured)
      return (entry) => {
        // kafkajs's own disconnect can race a request of its own onto a socket it has just
        // ended (tulios/kafkajs#928, #1017): "Connection error: write after end" as the client
        // stops. What that request was for is given up with the client; nothing depends on it.
        if (
          state.disconnecting > 0 &&
          entry.level === logLevel.ERROR &&
          entry.namespace === 'Connection' &&
          endedSocket.test(String(entry.log.message))
        ) {
          if (configured >= logLevel.DEBUG) write({ ...entry, level: logLevel.DEBUG, label: 'DEBUG' })
          return
        }
        write(entry)
      }
    },
    ...secured,
    ...options,
  })
  disconnectStates.set(kafka, state)
  return kafka
}

const disconnectStates = new WeakMap<Kafka, { disconnecting: number }>()

/** kafkajs's words for a request written to a socket that has been ended or destroyed. */
const endedSocket = /^Connection error: (write after end|Cannot call write after a stream was destroyed)$/

/**
 * Runs `disconnect` (a stop's disconnecting of `kafka`'s clients) with one kafkajs line quieted:
 * a request written to a socket already ended, logged at DEBUG instead of ERROR while it runs, so
 * a clean stop prints no error line. Every other error still prints, a refused or reset connection
 * included, and once `disconnect` settles that one prints again too: another client of the same
 * instance, or a consumer started on it later, is heard as before (from the event loop's next
 * turn on). A client not made by createKafka is left as it is.
 */
export async function quietWhileDisconnecting<T>(kafka: Kafka, disconnect: () => Promise<T>): Promise<T> {
  const state = disconnectStates.get(kafka)
  if (state) state.disconnecting += 1
  try {
    return await disconnect()
  } finally {
    // Node reports a write to an ended socket by an 'error' event on a later tick than the one
    // the disconnect resolves on: the window stays open until the next turn of the event loop.
    if (state) await new Promise((resolve) => setImmediate(resolve))
    if (state) state.disconnecting -= 1
  }
}

/** GROUP_LOAD_IN_PROGRESS as kafkajs words it in a failed response's `error` field. */
const coordinatorLoading = "The coordinator is loading and hence can't process requests"

/**
 * A kafkajs log entry as one JSON line, the way kafkajs's own console logger writes it, with the
 * level it is written at. A group coordinator that is still loading (a broker just started reads
 * its group metadata first) is INFO, not ERROR: kafkajs retries that request itself, and nothing
 * failed. Every other entry keeps its level.
 */
export function formatKafkaLog({ namespace, level, label, log }: LogEntry): {
  level: logLevel
  line: string
} {
  const harmless = level === logLevel.ERROR && String(log.error ?? '').startsWith(coordinatorLoading)
  const written = harmless ? { level: logLevel.INFO, label: 'INFO' } : { level, label }
  const message = namespace ? `[${namespace}] ${log.message}` : log.message
  return { level: written.level, line: JSON.stringify({ level: written.label, ...log, message }) }
}

/** kafkajs's console output, with the levels `formatKafkaLog` gives: errors to stderr, the rest to stdout. */
export const kafkaLogCreator: logCreator = () => (entry) => {
  const { level, line } = formatKafkaLog(entry)
  if (level === logLevel.ERROR) console.error(line)
  else if (level === logLevel.WARN) console.warn(line)
  else console.log(line)
}

/** Parses a broker list as written in configuration: `host:port,host:port`. */
export function parseBrokers(list: string): string[] {
  return list
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0)
}

/** True when a broker answers a metadata request within `timeoutMs`. */
export async function kafkaAnswers(
  brokers: string[],
  timeoutMs = 2000,
  security?: KafkaSecurityInput,
): Promise<boolean> {
  const admin = createKafka({
    brokers,
    security,
    clientId: 'outbox-cdc-probe',
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin()
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    return cluster.brokers.length > 0
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/** A topic as it should be created: partitions, and topic-level configs such as `retention.ms`. */
export interface TopicSpec {
  topic: string
  partitions: number
  configs?: Record<string, string>
}

/**
 * Creates each topic in `specs` that does not exist yet (replication: the broker's default) and
 * returns every one with the partitions it has. A topic that already exists is left as it is,
 * partitions and configs included: changing those is an operator's decision, not a side effect.
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]) {
  const wanted = specs.map((spec) => spec.topic)
  const existing = new Set(await admin.listTopics())
  const missing = wanted.filter((topic) => !existing.has(topic))
  // Just after a broker starts, creating topics or reading their metadata can fail with a
  // retriable error (UNKNOWN_TOPIC_OR_PARTITION while leaders are elected): try again, a few times.
  const metadata = await pRetry(
    async () => {
      const present = new Set(await admin.listTopics())
      const toCreate = specs.filter((spec) => missing.includes(spec.topic) && !present.has(spec.topic))
      if (toCreate.length > 0) {
        await admin.createTopics({
          topics: toCreate.map((spec) => ({
            topic: spec.topic,
            numPartitions: spec.partitions,
            replicationFactor: -1,
            configEntries: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
          })),
          waitForLeaders: true,
        })
      }
      return admin.fetchTopicMetadata({ topics: wanted })
    },
    {
      retries: 5,
      minTimeout: 500,
      shouldRetry: ({ error }) => (error as { retriable?: boolean }).retriable === true,
    },
  )
  return metadata.topics.map((topic) => ({
    topic: topic.name,
    partitions: topic.partitions.length,
    created: missing.includes(topic.name),
  }))
}
