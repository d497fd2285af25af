import { z } from 'zod'
import { OptionsError } from '../errors.ts'
import { aggregateNamePattern, isAggregateName, isNamespace } from '../events/topics.ts'
import { qualifiedName } from '../outbox/table-name.ts'
import { debeziumSslConfig, postgresTlsSchema } from '../security/postgres.ts'
import { debeziumPostgresClass } from './connect-client.ts'

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case Postgres identifier')
/** `schema.table`, both lower-case identifiers: how Debezium's table.include.list names a table. */
const tablePattern = /^[a-z_][a-z0-9_]{0,62}\.[a-z_][a-z0-9_]{0,62}$/
const qualifiedTable = z.string().regex(tablePattern, 'must be schema.table in lower case')

/**
 * What the Debezium outbox connector is built from. Every name comes from here: nothing about any
 * one service is built in. Parsed once with zod, so a bad option fails before Connect is called.
 */
// Strict objects throughout: a misspelt option (exactlyonce) must fail, not leave a feature off.
export const outboxConnectorOptionsSchema = z.strictObject({
  // Not only dots: `.` and `..` would leave Connect's /connectors/ path.
  name: z
    .string()
    .regex(/^(?!\.+$)[A-Za-z0-9._-]{1,100}$/, 'must be letters, digits, ., _ or -, not only dots'),
  database: z.strictObject({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65_535).default(5432),
    name: z.string().min(1),
    /** The replication role: only what Debezium needs (see the schema's grants). */
    user: identifier,
    /**
     * A Connect config-provider reference such as `${file:/path/connector.properties:database.password}`
     * or `${env:OUTBOX_CONNECT_DB_PASSWORD}`. A literal password is refused: Connect would store it
     * in its config topic and show it on its REST API.
     */
    passwordRef: z
      .string()
      .regex(
        /^\$\{(file|env|directory):[^}]+\}$/,
        'must be a config-provider reference like ${file:…:key}, not a password',
      ),
    /** TLS to the database, as Connect's worker sees it: its CA file is a path on that machine. */
    tls: postgresTlsSchema.optional(),
  }),
  /** The outbox tables this connector reads, as `schema.table`; one connector per database. */
  outboxes: z.array(qualifiedTable).min(1, 'name at least one outbox table'),
  /**
   * The table each heartbeat rewrites (`schema.table`), in the publication: a beat lets the slot
   * move on while the outboxes are quiet, so WAL of other tables is not pinned. Its changes are
   * dropped before Kafka. `intervalMs` 0 turns beats off.
   */
  heartbeat: z
    .strictObject({ table: qualifiedTable, intervalMs: z.number().int().min(0).max(3_600_000) })
    .optional(),
  slot: identifier,
  publication: identifier,
  /** Debezium's topic.prefix: names the connector's internal topics (heartbeats), not event topics. */
  topicPrefix: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default('outbox'),
  /** Events go to `<namespace>.<aggregate>`. */
  namespace: z
    .string()
    .refine(isNamespace, "must be a topic-name prefix ([A-Za-z0-9._-], no leading or trailing '.')"),
  /** How long Connect's poll waits for change events; most of the commit-to-Kafka delay. */
  pollIntervalMs: z.number().int().min(1).max(60_000).default(25),
  maxBatchSize: z.number().int().min(1).max(100_000).default(2048),
  /** The Connect producer's linger.ms for this connector; unset leaves Kafka's default. */
  producerLingerMs: z.number().int().min(0).max(10_000).optional(),
  /**
   * KIP-618 exactly-once source delivery: each poll's records and offsets in one Kafka
   * transaction. Every worker needs exactly.once.source.support=enabled, or Connect refuses it.
   */
  exactlyOnce: z.boolean().default(false),
  /** Debezium's slot.failover (Postgres 17+ primaries, at slot creation only). */
  slotFailover: z.boolean().default(false),
})

export type OutboxConnectorOptions = z.input<typeof outboxConnectorOptionsSchema>
type Parsed = z.output<typeof outboxConnectorOptionsSchema>

export function parseConnectorOptions(options: OutboxConnectorOptions): Parsed {
  const parsed = outboxConnectorOptionsSchema.safeParse(options)
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(options)'}: ${issue.message}`,
    )
    throw new OptionsError(`invalid connector options:\n  ${lines.join('\n  ')}`)
  }
  return parsed.data
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * One row in the heartbeat table (`schema.table`), rewritten by each beat: an insert the
 * publication carries. Quoted as schemaSql creates it, so a schema named after a keyword works.
 */
export function heartbeatActionQuery(table: string): string {
  if (!tablePattern.test(table))
    throw new OptionsError(`heartbeat table ${JSON.stringify(table)} must be schema.table in lower case`)
  const [schema = '', name = ''] = table.split('.')
  const quoted = qualifiedName({ schema, table: name })
  return `WITH gone AS (DELETE FROM ${quoted}) INSERT INTO ${quoted} (beat_at) VALUES (now())`
}

function heartbeat(options: Parsed): Record<string, string> {
  if (!options.heartbeat || options.heartbeat.intervalMs === 0) return {}
  return {
    'heartbeat.interval.ms': String(options.heartbeat.intervalMs),
    'heartbeat.action.query': heartbeatActionQuery(options.heartbeat.table),
  }
}

/** The regex a record topic (`<prefix>.<schema>.<table>`) matches when it comes from one of `tables`. */
const tablesPattern = (prefix: string, tables: string[]) =>
  `${escapeRegex(prefix)}\\.(${tables.map(escapeRegex).join('|')})`

/**
 * The Debezium Postgres connector config for the outbox: pgoutput on a named slot and a
 * publication the schema created (so the replication role owns nothing), no snapshot (an outbox's
 * history is not to be replayed), and the EventRouter routing each event to
 * `<namespace>.<aggregate_type>` with the aggregate id as key, `id`, `event_type` and
 * `traceparent` headers, and the payload's JSON text as the value.
 */
export function outboxConnectorConfig(input: OutboxConnectorOptions): Record<string, string> {
  const options = parseConnectorOptions(input)
  const beat = options.heartbeat?.table
  if (beat && options.outboxes.includes(beat)) {
    throw new OptionsError(`the heartbeat table ${beat} cannot also be an outbox`)
  }
  return {
    name: options.name,
    'connector.class': debeziumPostgresClass,
    'tasks.max': '1',
    'plugin.name': 'pgoutput',
    'database.hostname': options.database.host,
    'database.port': String(options.database.port),
    'database.dbname': options.database.name,
    'database.user': options.database.user,
    'database.password': options.database.passwordRef,
    ...debeziumSslConfig(options.database.tls),
    'topic.prefix': options.topicPrefix,
    'slot.name': options.slot,
    'slot.drop.on.stop': 'false',
    ...(options.slotFailover ? { 'slot.failover': 'true' } : {}),
    'publication.name': options.publication,
    'publication.autocreate.mode': 'disabled',
    'table.include.list': [...options.outboxes, ...(beat ? [beat] : [])].join(','),
    'snapshot.mode': 'no_data',
    'tombstones.on.delete': 'false',
    'poll.interval.ms': String(options.pollIntervalMs),
    'max.batch.size': String(options.maxBatchSize),
    ...(options.producerLingerMs === undefined
      ? {}
      : { 'producer.override.linger.ms': String(options.producerLingerMs) }),
    // Debezium 3.x adds __debezium.context.* headers to every record; consumers need none of them.
    'extended.headers.enabled': 'false',
    // Keys are aggregate ids as plain strings; values are the payload's JSON text as written.
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    ...heartbeat(options),
    // Transaction per poll (`poll`, Debezium's only boundary).
    ...(options.exactlyOnce ? { 'exactly.once.support': 'required', 'transaction.boundary': 'poll' } : {}),
    // Debezium's heartbeats go to __debezium-heartbeat.<topic.prefix>, which nobody else creates:
    // with the broker's auto-creation off, Connect creates a topic the connector writes to that
    // is missing, as the broker would have. The event topics exist before the connector starts
    // (provisionConnector), so this leaves them alone.
    'topic.creation.default.partitions': '-1',
    'topic.creation.default.replication.factor': '-1',
    // Heartbeat-table changes are dropped before Kafka; the EventRouter sees outbox rows only.
    predicates: beat ? 'isHeartbeatTable,isOutboxTable' : 'isOutboxTable',
    ...(beat
      ? {
          'predicates.isHeartbeatTable.type':
            'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
          'predicates.isHeartbeatTable.pattern': escapeRegex(`${options.topicPrefix}.${beat}`),
        }
      : {}),
    'predicates.isOutboxTable.type': 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches',
    'predicates.isOutboxTable.pattern': tablesPattern(options.topicPrefix, options.outboxes),
    transforms: beat ? 'dropHeartbeat,outbox' : 'outbox',
    ...(beat
      ? {
          'transforms.dropHeartbeat.type': 'org.apache.kafka.connect.transforms.Filter',
          'transforms.dropHeartbeat.predicate': 'isHeartbeatTable',
        }
      : {}),
    'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
    'transforms.outbox.predicate': 'isOutboxTable',
    'transforms.outbox.table.field.event.id': 'id',
    'transforms.outbox.table.field.event.key': 'aggregate_id',
    'transforms.outbox.table.field.event.payload': 'payload',
    'transforms.outbox.table.field.event.timestamp': 'created_at',
    'transforms.outbox.route.by.field': 'aggregate_type',
    'transforms.outbox.route.topic.replacement': `${options.namespace}.\${routedByValue}`,
    'transforms.outbox.table.fields.additional.placement':
      'event_type:header:event_type,trace_context:header:traceparent',
  }
}

/** Aggregates checked the way topics need them: one topic-name part each. */
export function checkAggregates(aggregates: readonly string[]): string[] {
  const bad = aggregates.filter((aggregate) => !isAggregateName(aggregate))
  if (aggregates.length === 0 || bad.length > 0) {
    throw new OptionsError(
      aggregates.length === 0
        ? 'name at least one aggregate: each gets its event topic'
        : `aggregates must match ${aggregateNamePattern} and not end in -dlq: ${bad.join(', ')}`,
    )
  }
  return [...new Set(aggregates)]
}
