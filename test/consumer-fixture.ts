import type { Admin, Kafka, Message } from 'kafkajs'
import { logLevel } from 'kafkajs'
import { createKafka } from 'outbox-cdc'
import { afterAll, beforeAll, inject } from 'vitest'
import { type Database, openDatabase } from '../db/client.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { createTestDatabase, readThrough, type TestDatabase } from './support.ts'

export interface ConsumerFixture {
  /** The test file's own database on the shared server, migrated. */
  readonly db: TestDatabase
  /** A pool on it, for the consumer under test and for reading what it applied. */
  readonly database: Database
  /** A client for the shared broker that logs nothing; topics, groups and producers come from it. */
  readonly kafka: Kafka
  /** Connected for the whole file. */
  readonly admin: Admin
  /** Runs `cleanup` after the file, before the admin disconnects; in reverse order, errors ignored. */
  onCleanup(cleanup: () => Promise<unknown>): void
}

/**
 * Registers the hooks that give a consumer test file its own migrated database, a Kafka client
 * and a connected admin; all are closed and the database dropped after the file, after every
 * cleanup given to `onCleanup`. `db` and `database` may be read only inside tests and hooks.
 */
export function useConsumerFixture(prefix: string, options: { poolMax?: number } = {}): ConsumerFixture {
  const stack = inject('stack')
  const kafka = createKafka({
    brokers: stack.kafka.brokers,
    clientId: `it-${prefix}`,
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  const cleanups: (() => Promise<unknown>)[] = []
  let opened: { db: TestDatabase; database: Database } | undefined

  beforeAll(async () => {
    const db = await createTestDatabase(stack.postgres.adminUrl, `it_${prefix.replaceAll('-', '_')}`)
    await migrateDatabase(db.url)
    opened = { db, database: openDatabase(db.url, { max: options.poolMax ?? 5 }) }
    await admin.connect()
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    await admin.disconnect()
    await opened?.database.close()
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
