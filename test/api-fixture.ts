import type { FastifyInstance } from 'fastify'
import { connectPostgres } from 'outbox-cdc'
import type postgres from 'postgres'
import { afterAll, beforeAll, inject } from 'vitest'
import { type AppOptions, buildApp } from '../api/app.ts'
import { type Database, openDatabase } from '../db/client.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { type OutboxEventReader, openOutboxEventReader } from './outbox-events.ts'
import { createTestDatabase, readThrough, type TestDatabase } from './support.ts'

export interface ApiFixture {
  /** The test file's own database on the shared server (`name` for pg_stat_activity). */
  readonly db: TestDatabase
  /** The pool the app uses, for calling repositories or use cases directly. */
  readonly database: Database
  /** The API in process: drive it with `app.inject()`. */
  readonly app: FastifyInstance
  /** A plain postgres.js client on the same database, for counting and seeding rows. */
  readonly raw: postgres.Sql
  /** The events committed transactions appended to the outbox, read from the WAL. */
  readonly events: OutboxEventReader
}

export interface ApiFixtureOptions {
  /** Connections of the raw client (default 1); more when a test holds one (`raw.reserve()`). */
  rawMax?: number
  /** Connections of the app's pool (default 5). */
  poolMax?: number
  /** The rest of `buildApp`'s options (the logger is off). */
  app?: Omit<AppOptions, 'db' | 'logger'>
}

/**
 * Registers the hooks that give a test file its own database, migrated, with the API built in
 * process on it, a raw client and a WAL event reader; all are closed and the database dropped
 * after the file. The fields may be read only inside tests and hooks registered after this call.
 */
export function useApiFixture(prefix: string, options: ApiFixtureOptions = {}): ApiFixture {
  const cleanups: (() => Promise<unknown>)[] = []
  let opened: ApiFixture | undefined

  beforeAll(async () => {
    const db = await createTestDatabase(inject('stack').postgres.adminUrl, `it_${prefix}`)
    cleanups.push(() => db.drop())
    await migrateDatabase(db.url)
    const raw = connectPostgres(db.url, { max: options.rawMax ?? 1, onnotice: () => {} })
    cleanups.push(() => raw.end())
    const events = await openOutboxEventReader(raw, `${prefix}_${Date.now()}`)
    cleanups.push(() => events.close())
    const database = openDatabase(db.url, { max: options.poolMax ?? 5 })
    cleanups.push(() => database.close())
    const app = (await buildApp({
      ...options.app,
      db: database.db,
      logger: false,
    })) as unknown as FastifyInstance
    cleanups.push(() => app.close())
    opened = { db, database, app, raw, events }
  })
  afterAll(async () => {
    // In reverse: the app before its pool, the slot before its client, the database last.
    for (const cleanup of cleanups.reverse()) await cleanup()
  })

  return readThrough('the API fixture', () => opened, ['db', 'database', 'app', 'raw', 'events'])
}
