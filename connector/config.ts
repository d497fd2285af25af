import { z } from 'zod'
import {
  connectorName,
  flag,
  httpUrl,
  kafkaBrokers,
  parseEnv,
  postgresUrl,
  topicNamespace,
} from '../lib/config.ts'
import { debeziumPostgresClass } from '../lib/connect-client.ts'
import { deadLetterTopicEnv } from '../lib/dead-letter-topic.ts'
import { heartbeatTable, outboxPublication, outboxSlot, replicationRole } from '../lib/replication.ts'

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case Postgres identifier')

export const connectorEnvSchema = z.object({
  CONNECT_URL: httpUrl,
  KAFKA_BROKERS: kafkaBrokers,
  /** Partitions per event topic; events of one aggregate keep their order within a partition. */
  TOPIC_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(3),
  ...deadLetterTopicEnv,
  /** Where the connector's database lives; host, port and name are taken from it (not the user). */
  DATABASE_URL: postgresUrl,
  CONNECTOR_NAME: connectorName,
  /** The replication role; created with only what Debezium needs (see the README). */
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
   * at slot creation, and only on a Postgres 17+ primary; see the README (production).
   */
  CONNECTOR_SLOT_FAILOVER: flag,
  CONNECTOR_EXACTLY_ONCE: flag,
})

export type ConnectorEnv = z.infer<typeof connectorEnvSchema>

export const loadConnectorConfig = (source: Record<string, string | undefined> = process.env): ConnectorEnv =>
  parseEnv(connectorEnvSchema, source, 'connector')

/**
 * The Debezium Postgres connector config for the outbox: pgoutput on a named slot and a
 * publication of the outbox table alone, no snapshot (an outbox's history is not to be replayed),
 * and the EventRouter routing each event to `<namespace>.<aggregate_type>` with the aggregate id as
 * key, `id` and `event_type` headers and the payload as the record's JSON value.
 */
const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** One row in the heartbeat table, rewritten by each beat: an insert the publication carries. */
export const heartbeatActionQuery = `WITH gone AS (DELETE FROM ${heartbeatTable}) INSERT INTO ${heartbeatTable} (beat_at) VALUES (now())`

function heartbeat(env: ConnectorEnv): Record<string, string> {
  if (env.CONNECTOR_HEARTBEAT_INTERVAL_MS === 0) return {}
  return {
    'heartbeat.interval.ms': String(env.CONNECTOR_HEARTBEAT_INTERVAL_MS),
    'heartbeat.action.query': heartbeatActionQuery,
  }
}

export function buildConnectorConfig(env: ConnectorEnv): Record<string, string> {
  const db = new URL(env.DATABASE_URL)
  return {
    name: env.CONNECTOR_NAME,
    'connector.class': debeziumPostgresClass,
    'tasks.max': '1',
    'plugin.name': 'pgoutput',
    'database.hostname': env.CONNECTOR_DB_HOST ?? db.hostname,
    'database.port': String(env.CONNECTOR_DB_PORT ?? (db.port || 5432)),
    'database.dbname': decodeURIComponent(db.pathname.replace(/^\//, '')),
    'database.user': env.CONNECTOR_DB_USER,
    'database.password': env.CONNECTOR_DB_PASSWORD_REF,
    'topic.prefix': env.CONNECTOR_TOPIC_PREFIX,
    'slot.name': env.CONNECTOR_SLOT_NAME,
    'slot.drop.on.stop': 'false',
    ...(env.CONNECTOR_SLOT_FAILOVER ? { 'slot.failover': 'true' } : {}),
    'publication.name': env.CONNECTOR_PUBLICATION,
    // The migration creates the publication (as the table's owner), so the replication role
    // needs no ownership of anything.
    'publication.autocreate.mode': 'disabled',
    // Two outboxes, the order service's and fulfilment's: one database here, so one connector.
    'table.include.list': `public.outbox,public.fulfilment_outbox,${heartbeatTable}`,
    'snapshot.mode': 'no_data',
    'tombstones.on.delete': 'false',
    'poll.interval.ms': String(env.CONNECTOR_POLL_INTERVAL_MS),
    'max.batch.size': String(env.CONNECTOR_MAX_BATCH_SIZE),
    ...(env.CONNECTOR_PRODUCER_LINGER_MS === undefined
      ? {}
      : { 'producer.override.linger.ms': String(env.CONNECTOR_PRODUCER_LINGER_MS) }),
    // Debezium 3.x adds __debezium.context.* headers to every record; consumers need none of them.
    'extended.headers.enabled': 'false',
    // Keys are aggregate ids as plain strings; values are the payload's JSON text as written.
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    ...heartbeat(env),
    // Transaction per poll (`poll`, Debezium's only boundary); see CONNECTOR_EXACTLY_ONCE above.
    ...(env.CONNECTOR_EXACTLY_ONCE
      ? { 'exactly.once.support': 'required', 'transaction.boundary': 'poll' }
      : {}),
    // Debezium's heartbeats go to __debezium-heartbeat.<topic.prefix>, which nobody else creates:
    // with the broker's auto-creation off, Connect creates a topic the connector writes to that
    // is missing, as the broker would have (its default partitions and replication). The event
    // topics exist before the connector starts (ensureEventTopics), so this leaves them alone.
    'topic.creation.default.partitions': '-1',
    'topic.creation.default.replication.factor': '-1',
    // Heartbeat-table changes are dropped before Kafka; the EventRouter sees outbox rows only.
    predicates: 'isHeartbeatTable,isOutboxTable',
    'predicates.isHeartbeatTable.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
    'predicates.isHeartbeatTable.pattern': escapeRegex(`${env.CONNECTOR_TOPIC_PREFIX}.${heartbeatTable}`),
    'predicates.isOutboxTable.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
    'predicates.isOutboxTable.pattern': `${escapeRegex(env.CONNECTOR_TOPIC_PREFIX)}\\.public\\.(fulfilment_)?outbox`,
    transforms: 'dropHeartbeat,outbox',
    'transforms.dropHeartbeat.type': 'org.apache.kafka.connect.transforms.Filter',
    'transforms.dropHeartbeat.predicate': 'isHeartbeatTable',
    'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
    'transforms.outbox.predicate': 'isOutboxTable',
    'transforms.outbox.table.field.event.id': 'id',
    'transforms.outbox.table.field.event.key': 'aggregate_id',
    'transforms.outbox.table.field.event.payload': 'payload',
    'transforms.outbox.table.field.event.timestamp': 'created_at',
    'transforms.outbox.route.by.field': 'aggregate_type',
    'transforms.outbox.route.topic.replacement': `${env.TOPIC_NAMESPACE}.\${routedByValue}`,
    'transforms.outbox.table.fields.additional.placement':
      'event_type:header:event_type,trace_context:header:traceparent',
  }
}
