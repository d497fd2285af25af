import type { IncomingEvent } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type Database, openDatabase } from '../../db/client.ts'
import { migrateDatabase } from '../../db/migrate.ts'
import { orderPlaced } from '../../lib/events.ts'
import { applyBatch } from '../order-side.ts'
import { createTestDatabase } from '../support.ts'

/**
 * One advisory lock per distinct read-model key, held to commit: a batch of CONSUMER_BATCH_SIZE
 * (up to 5000, allowed by config) orders for distinct books takes 5000 entries of the server's
 * shared lock table (max_locks_per_transaction × backends, ~6-8k by default). The default three
 * partitions at once exhaust it: "out of shared memory" (53200, transient), every batch rolls back
 * and falls back to one record at a time, and any other session needing a lock meanwhile fails too.
 */
const stack = inject('stack')

const sale = (bookId: string, offset: number): IncomingEvent => {
  const event = orderPlaced({
    id: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    bookId,
    quantity: 1,
    total: 2,
    status: 'placed',
    createdAt: '2026-11-23T10:00:00.000Z',
  })
  return {
    topic: 'rv.locks.order',
    partition: 0,
    offset: String(offset),
    key: event.aggregateId,
    headers: { id: event.id, event_type: event.eventType },
    value: JSON.stringify(event.payload),
    timestamp: String(Date.now()),
  }
}

describe('advisory locks per key', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let database: Database
  beforeAll(async () => {
    db = await createTestDatabase(stack.postgres.adminUrl, 'it_review_locks')
    await migrateDatabase(db.url)
    database = openDatabase(db.url, { max: 4 })
  })
  afterAll(async () => {
    await database?.close()
    await db?.drop()
  })

  it('three partitions applying 5000-record batches of distinct books at once all commit', async () => {
    const raw = postgres(db.url, { max: 1, onnotice: () => {} })
    const [s] =
      await raw`select current_setting('max_locks_per_transaction') as l, current_setting('max_connections') as c`
    console.log('max_locks_per_transaction', s?.l, 'max_connections', s?.c)
    await raw.end()
    const batches = [0, 1, 2].map(() => Array.from({ length: 5000 }, (_, i) => sale(crypto.randomUUID(), i)))
    const results = await Promise.allSettled(batches.map((b) => applyBatch(database.db, b)))
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))
    expect(errors).toEqual([])
  })
})
