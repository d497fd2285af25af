import type { Admin, Kafka, Message } from 'kafkajs'
import { logLevel } from 'kafkajs'
import { createKafka, type IncomingEvent } from 'outbox-cdc'
import { afterAll, beforeAll, inject } from 'vitest'
import { type Database, openDatabase } from '../db/client.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { orderPlaced } from '../lib/events.ts'
import { createTestDatabase, readThrough, type TestDatabase } from './support.ts'

export interface ConsumerFixture {
  /** The test file's own database on the shared server, migrated. */
  readonly db: TestDatabase
  /** A pool on it, for the consumer under test and for reading what it applied. */
  readonly database: Database
  /** A client for the shared broker that logs nothing; topics, groups and producers come from it. */
  readonly kafka: Kafka
  /** Connected for the whole file (unless the file asked for no Kafka). */
  readonly admin: Admin
  /** Runs `cleanup` after the file, before the admin disconnects; in reverse order, errors ignored. */
  onCleanup(cleanup: () => Promise<unknown>): void
}

export interface ConsumerFixtureOptions {
  /** The pool's size (5 when not given). */
  poolMax?: number
  /** The pool's application_name, for a test that finds its backends in pg_stat_activity. */
  applicationName?: string
  /** false: the file applies events straight to the database, and no admin is connected. */
  kafka?: boolean
  /**
   * The file kills the pool's backends: the pool is closed within 1 s, and the errors of its
   * dead connections are no failure of the file.
   */
  killsBackends?: boolean
}

/**
 * Registers the hooks that give a consumer test file its own migrated database, a Kafka client
 * and a connected admin; all are closed and the database dropped after the file, after every
 * cleanup given to `onCleanup`. `db` and `database` may be read only inside tests and hooks.
 */
export function useConsumerFixture(prefix: string, options: ConsumerFixtureOptions = {}): ConsumerFixture {
  const stack = inject('stack')
  const kafka = createKafka({
    brokers: stack.kafka.brokers,
    clientId: `it-${prefix}`,
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  const withKafka = options.kafka ?? true
  const cleanups: (() => Promise<unknown>)[] = []
  let opened: { db: TestDatabase; database: Database } | undefined

  beforeAll(async () => {
    const db = await createTestDatabase(stack.postgres.adminUrl, `it_${prefix.replaceAll('-', '_')}`)
    await migrateDatabase(db.url)
    const pool = {
      max: options.poolMax ?? 5,
      ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    }
    opened = { db, database: openDatabase(db.url, pool) }
    if (withKafka) await admin.connect()
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    if (withKafka) await admin.disconnect()
    if (options.killsBackends) await opened?.database.close(1).catch(() => {})
    else await opened?.database.close()
    await opened?.db.drop()
  })

  const onCleanup = (cleanup: () => Promise<unknown>) => {
    cleanups.push(cleanup)
  }
  return readThrough('the consumer fixture', () => opened, ['db', 'database'], { kafka, admin, onCleanup })
}

/** A BookAdded payload as the API would write it, with a fresh id. */
export const bookPayload = (title: string) => ({
  id: crypto.randomUUID(),
  title,
  author: 'A',
  price: 1,
  stock: 1,
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
  removedAt: null,
})

/**
 * A record as the EventRouter writes one: keyed by the aggregate id, an `id` and `event_type`
 * header. `value` replaces the JSON of `payload`, for records that are not valid JSON.
 */
export const eventRecord = (payload: unknown, eventType = 'BookAdded', value?: string): Message => ({
  key: (payload as { id?: string }).id ?? 'k',
  value: value ?? JSON.stringify(payload),
  headers: { id: crypto.randomUUID(), event_type: eventType },
})

let nextOffset = 0

/**
 * A record as the consumer receives it, for applyEvent and applyBatch: the event's id and type
 * in the headers, keyed by its aggregate id, at the next offset of partition 0, timestamped now.
 * `extra` replaces any field (an offset, a timestamp, or none: `{ timestamp: undefined }`).
 */
export const incomingRecord = (
  topic: string,
  event: { id: string; eventType: string; aggregateId: string; payload: unknown },
  extra: Partial<IncomingEvent> = {},
): IncomingEvent => ({
  topic,
  partition: 0,
  offset: String(nextOffset++),
  key: event.aggregateId,
  headers: { id: event.id, event_type: event.eventType },
  value: JSON.stringify(event.payload),
  timestamp: String(Date.now()),
  ...extra,
})

/**
 * An OrderPlaced record of `quantity` copies (1) of `bookId` for `total` (2), from a fresh order
 * and customer, on `topic` (it.order); `extra` as incomingRecord's.
 */
export const saleRecord = (
  bookId: string,
  {
    topic = 'it.order',
    quantity = 1,
    total = 2,
    ...extra
  }: Partial<IncomingEvent> & { quantity?: number; total?: number } = {},
): IncomingEvent =>
  incomingRecord(
    topic,
    orderPlaced({
      id: crypto.randomUUID(),
      customerId: crypto.randomUUID(),
      bookId,
      quantity,
      total,
      status: 'placed',
      createdAt: '2026-11-23T10:00:00.000Z',
    }),
    extra,
  )

/**
 * Collects, for the file's tests, what is thrown outside any promise while they kill backends
 * under postgres.js 3.4.9: its ROLLBACK on the dead socket, from a setImmediate
 * (porsager/postgres#1208; the consumer process exits on it, see consumer/run-process.ts), and a
 * query's CONNECTION_CLOSED rejection left unhandled (the same family). `ours()` is what remains
 * once those are taken out: anything there is the code under test's, and fails it.
 */
export function collectUncaught() {
  const uncaught: unknown[] = []
  const collect = (error: unknown) => void uncaught.push(error)
  beforeAll(() => {
    process.on('uncaughtException', collect)
    process.on('unhandledRejection', collect)
  })
  afterAll(() => {
    process.off('uncaughtException', collect)
    process.off('unhandledRejection', collect)
  })
  return {
    all: () => uncaught.map(String),
    ours: () => uncaught.map(String).filter((e) => !/reading 'write'|CONNECTION_CLOSED/.test(e)),
  }
}
