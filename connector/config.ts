import {
  type OutboxConnectorOptions,
  outboxConnectorConfig,
  type PostgresTls,
  type ProvisionOptions,
  postgresTlsOf,
  type RegisterOptions,
  redactUrl,
} from 'outbox-cdc'
import { z } from 'zod'
import {
  ConfigError,
  connectorName,
  flag,
  httpUrl,
  kafkaBrokers,
  parseEnv,
  postgresUrl,
  topicNamespace,
} from '../lib/config.ts'
import { deadLetterTopicEnv, deadLetterTopicSettingsOf } from '../lib/dead-letter-topic.ts'
import { aggregateTypes } from '../lib/events.ts'
import { heartbeatTable, outboxPublication, outboxSlot, replicationRole } from '../lib/replication.ts'

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case Postgres identifier')

export const connectorEnvSchema = z.object({
  CONNECT_URL: httpUrl,
  KAFKA_BROKERS: kafkaBrokers,
  /** Partitions per event topic; events of one aggregate keep their order within a partition. */
  TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(3),
  /**
   * The event topics' retention.ms when connector:register creates them (-1: for ever): seven
   * days, Kafka's own default, said here so that the inbox's horizon can be reckoned from it.
   */
  TOPIC_RETENTION_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === -1 || ms >= 1000, 'must be -1 (keep for ever) or at least 1000')
    .default(7 * 86_400_000),
  ...deadLetterTopicEnv,
  /** Where the connector's database lives; host, port and name are taken from it (not the user). */
  DATABASE_URL: postgresUrl,
  CONNECTOR_NAME: connectorName,
  /** The replication role; created with only what Debezium needs (docs/connector-and-slots.md). */
  CONNECTOR_DB_USER: identifier.default(replicationRole),
  /** Host and port as Connect sees the database, when that differs from DATABASE_URL (Docker). */
  CONNECTOR_DB_HOST: z.string().min(1).optional(),
  CONNECTOR_DB_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  /**
   * A Connect config-provider reference such as `${file:/path/connector.properties:database.password}`
   * or `${env:OUTBOX_CONNECT_DB_PASSWORD}`. A literal password is refused: Connect would store it
   * in its config topic and show it on its REST API.
   */
  CONNECTOR_DB_PASSWORD_REF: z
    .string()
    .regex(
      /^\$\{(file|env|directory):[^}]+\}$/,
      'must be a config-provider reference like ${file:…:key}, not a password',
    ),
  CONNECTOR_TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('outbox'),
  CONNECTOR_SLOT_NAME: identifier.default(outboxSlot),
  CONNECTOR_PUBLICATION: identifier.default(outboxPublication),
  TOPIC_NAMESPACE: topicNamespace,
  /**
   * How long Connect's poll waits for Debezium to queue change events (Debezium's default is 500).
   * It is most of the commit-to-Kafka delay: 25 ms measured p50 46 ms / p99 129 ms end to end at
   * 1,000 events/s against 124 / 228 at 100 and 547 / 1014 at 500, for ~2% more of a core while idle
   * (10 ms gained 15 ms more p50 for ~6% more idle CPU). See bench/results/.
   */
  CONNECTOR_POLL_INTERVAL_MS: z.coerce.number().int().min(1).max(60_000).default(25),
  /** Most change events Debezium hands Connect per poll (Debezium's default is 2048). */
  CONNECTOR_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(2048),
  /**
   * The Connect producer's linger.ms for this connector (producer.override.*, which the worker
   * allows); unset leaves Kafka's producer default (5 ms since Kafka 4.0).
   */
  CONNECTOR_PRODUCER_LINGER_MS: z.coerce.number().int().min(0).max(10_000).optional(),
  /**
   * How often Debezium writes the heartbeat table (0 turns it off). Each beat lets the slot move on
   * while the outbox is quiet, so WAL from other tables and databases is not pinned.
   */
  CONNECTOR_HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  CONNECTOR_WAIT_TIMEOUT_S: z.coerce.number().int().min(1).max(900).default(120),
  /**
   * KIP-618 exactly-once source delivery: each poll's records and its source offsets go to Kafka
   * in one transaction, so a crashed worker re-sends nothing a read_committed consumer sees. Needs
   * every worker started with exactly.once.source.support=enabled (the local stack does it when
   * this is true); Connect refuses the connector otherwise. The consumer's inbox stays either way.
   */
  /**
   * Debezium's slot.failover: create the slot as a failover slot, which Postgres 17+ copies to
   * standbys (with sync_replication_slots there), so a promoted standby carries on from it. Only
   * at slot creation, and only on a Postgres 17+ primary; see docs/production.md.
   */
  CONNECTOR_SLOT_FAILOVER: flag,
  CONNECTOR_EXACTLY_ONCE: flag,
})

export type ConnectorEnv = z.infer<typeof connectorEnvSchema>

export const loadConnectorConfig = (source: Record<string, string | undefined> = process.env): ConnectorEnv =>
  parseEnv(connectorEnvSchema, source, 'connector')

/** The bookstore's two outboxes, the order service's and fulfilment's: one database, so one connector. */
export const outboxTables = ['public.outbox', 'public.fulfilment_outbox']

/**
 * Where Connect finds the database: DATABASE_URL's host, port and name, or CONNECTOR_DB_HOST and
 * CONNECTOR_DB_PORT where Connect sees it elsewhere. A URL that gives no host or database name
 * fails here, naming the variable to fix.
 */
function databaseOf(env: ConnectorEnv) {
  const db = new URL(env.DATABASE_URL)
  const problem = (what: string) =>
    new ConfigError(`connector config is invalid:\n  DATABASE_URL: ${what} (${redactUrl(env.DATABASE_URL)})`)
  let name: string
  try {
    name = decodeURIComponent(db.pathname.replace(/^\//, ''))
  } catch {
    throw problem('the database name is not valid percent-encoding')
  }
  if (name === '') throw problem('names no database')
  const host = env.CONNECTOR_DB_HOST ?? db.hostname
  if (host === '') throw problem('names no host Connect can reach (or set CONNECTOR_DB_HOST)')
  const port = env.CONNECTOR_DB_PORT ?? Number(db.port || 5432)
  if (!(port >= 1 && port <= 65_535)) throw problem(`port ${port} is not a TCP port`)
  // TLS as DATABASE_URL asks for it (libpq's sslmode, sslrootcert…), for Debezium too.
  let tls: PostgresTls | undefined
  try {
    tls = postgresTlsOf(env.DATABASE_URL).tls
  } catch (error) {
    throw problem((error as Error).message)
  }
  return { host, port, name, ...(tls ? { tls } : {}) }
}

/** The toolkit's connector options for the bookstore, from the environment parsed above. */
export function connectorOptionsOf(env: ConnectorEnv): OutboxConnectorOptions {
  return {
    name: env.CONNECTOR_NAME,
    database: {
      ...databaseOf(env),
      user: env.CONNECTOR_DB_USER,
      passwordRef: env.CONNECTOR_DB_PASSWORD_REF,
    },
    outboxes: outboxTables,
    heartbeat: { table: heartbeatTable, intervalMs: env.CONNECTOR_HEARTBEAT_INTERVAL_MS },
    slot: env.CONNECTOR_SLOT_NAME,
    publication: env.CONNECTOR_PUBLICATION,
    topicPrefix: env.CONNECTOR_TOPIC_PREFIX,
    namespace: env.TOPIC_NAMESPACE,
    pollIntervalMs: env.CONNECTOR_POLL_INTERVAL_MS,
    maxBatchSize: env.CONNECTOR_MAX_BATCH_SIZE,
    ...(env.CONNECTOR_PRODUCER_LINGER_MS === undefined
      ? {}
      : { producerLingerMs: env.CONNECTOR_PRODUCER_LINGER_MS }),
    exactlyOnce: env.CONNECTOR_EXACTLY_ONCE,
    slotFailover: env.CONNECTOR_SLOT_FAILOVER,
  }
}

export const buildConnectorConfig = (env: ConnectorEnv) => outboxConnectorConfig(connectorOptionsOf(env))

/** How registering waits, and the command it names for a connector an operator halted. */
export const registerOptionsOf = (env: ConnectorEnv): RegisterOptions => ({
  waitTimeoutMs: env.CONNECTOR_WAIT_TIMEOUT_S * 1000,
  resumeHint: 'run `npm run connector:resume`',
})

/** The connector, the bookstore's event topics and its dead-letter topic, provisioned together. */
export const provisionOptionsOf = (env: ConnectorEnv): ProvisionOptions => ({
  ...registerOptionsOf(env),
  connector: connectorOptionsOf(env),
  topics: {
    aggregates: aggregateTypes,
    partitions: env.TOPIC_PARTITIONS,
    retentionMs: env.TOPIC_RETENTION_MS,
    deadLetters: deadLetterTopicSettingsOf(env),
  },
})
