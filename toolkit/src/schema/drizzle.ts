import { sql } from 'drizzle-orm'
import {
  bigint,
  index,
  integer,
  jsonb,
  pgSchema,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'

/**
 * The toolkit's tables as Drizzle definitions, for a service's own drizzle-kit to pick up: export
 * what these return from the schema file drizzle.config.ts names. Names come from the caller; the
 * columns are what the append, the connector and the consumer runtime read and write.
 */

// A table in the caller's schema, or in the search path's first (pgTable). Typed as pgTable: the
// two differ only in the schema name Drizzle records.
const tableIn = (schema: string | undefined): typeof pgTable =>
  schema ? (pgSchema(schema).table as unknown as typeof pgTable) : pgTable

const outboxColumns = () => ({
  id: uuid('id').primaryKey(),
  aggregateType: text('aggregate_type').notNull(),
  aggregateId: text('aggregate_id').notNull(),
  eventType: text('event_type').notNull(),
  payload: jsonb('payload').notNull(),
  /**
   * Without time zone, in UTC: the EventRouter's timestamp field takes Debezium's
   * Timestamp/MicroTimestamp only; timestamptz makes it throw.
   */
  createdAt: timestamp('created_at', { withTimezone: false, precision: 6, mode: 'string' }).notNull(),
  /** W3C traceparent of the work that wrote the event, so a trace can cross Kafka. */
  traceContext: text('trace_context'),
})

/**
 * An outbox table. Rows are deleted in the transaction that inserts them (see appendEvent): the
 * insert is in the WAL, which is what Debezium reads, so the table stays empty.
 */
export const outboxTable = <Name extends string>(name: Name, options: { schema?: string } = {}) =>
  tableIn(options.schema)(name, outboxColumns())

/**
 * The connector's heartbeat table: Debezium's heartbeat action writes it, so a quiet outbox still
 * has changes in the publication and the slot's confirmed position moves, releasing WAL.
 */
export const heartbeatTable = <Name extends string>(name: Name, options: { schema?: string } = {}) =>
  tableIn(options.schema)(name, {
    beatAt: timestamp('beat_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  })

/**
 * A consumer group's inbox: one row per applied event, written in the handler's transaction.
 * Indexed by position (`topic, partition, kafka_offset`), the order the pruner deletes rows in.
 */
export const inboxTable = <Name extends string>(name: Name, options: { schema?: string } = {}) =>
  tableIn(options.schema)(
    name,
    {
      eventId: uuid('event_id').primaryKey(),
      eventType: text('event_type').notNull(),
      topic: text('topic').notNull(),
      partition: integer('partition').notNull(),
      kafkaOffset: bigint('kafka_offset', { mode: 'bigint' }).notNull(),
      /** When the consumer recorded the event (clock time, not the start of a batched transaction). */
      consumedAt: timestamp('consumed_at', { withTimezone: true, mode: 'date' })
        .notNull()
        .default(sql`clock_timestamp()`),
      /** The event's record timestamp (its outbox row's created_at): `consumed_at - occurred_at` is its delay. */
      occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }),
      /** Deliveries of this event after the first, each skipped: a count that survives restarts. */
      redeliveries: integer('redeliveries').notNull().default(0),
      /**
       * The offset of the latest copy seen (Connect re-sends a record it had not recorded as sent),
       * null while only the first was: the row may go only once every copy has left the topic.
       */
      lastOffset: bigint('last_offset', { mode: 'bigint' }),
    },
    (t) => [index(inboxPositionIndex(name)).on(t.topic, t.partition, t.kafkaOffset)],
  )

/** The name of an inbox's position index, as schemaSql and the migration make it. */
export const inboxPositionIndex = (table: string) => `${table}_position_idx`

/**
 * Where each inbox's pruner records how far it has deleted, per topic partition: every event
 * whose copies all lie below `below_offset` may be forgotten, and none consumed at or after
 * `pruned_before` has been. `replay` refuses to move a group below it.
 */
export const inboxHorizonTable = <Name extends string>(name: Name, options: { schema?: string } = {}) =>
  tableIn(options.schema)(
    name,
    {
      inbox: text('inbox').notNull(),
      topic: text('topic').notNull(),
      partition: integer('partition').notNull(),
      belowOffset: bigint('below_offset', { mode: 'bigint' }).notNull(),
      prunedBefore: timestamp('pruned_before', { withTimezone: true, mode: 'date' }).notNull(),
      prunedAt: timestamp('pruned_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    },
    (t) => [primaryKey({ name: `${name}_pkey`, columns: [t.inbox, t.topic, t.partition] })],
  )

/**
 * The keys each consumer group holds back behind a dead letter (see parkedLettersSql): one row per
 * letter, the first of a key (`behind` null) and those parked behind it.
 */
export const parkedLettersTable = <Name extends string>(name: Name, options: { schema?: string } = {}) =>
  tableIn(options.schema)(
    name,
    {
      seq: bigint('seq', { mode: 'bigint' }).generatedAlwaysAsIdentity(),
      groupId: text('group_id').notNull(),
      eventId: text('event_id').notNull(),
      topic: text('topic').notNull(),
      key: text('key').notNull(),
      originalOffset: bigint('original_offset', { mode: 'bigint' }).notNull(),
      behind: text('behind'),
      parkedAt: timestamp('parked_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    },
    (t) => [
      primaryKey({ name: `${name}_pkey`, columns: [t.groupId, t.eventId] }),
      index(`${name}_key_idx`).on(t.groupId, t.topic, t.key),
    ],
  )
