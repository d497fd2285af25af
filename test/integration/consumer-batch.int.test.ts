import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { applyBatch, type IncomingEvent } from '../../consumer/apply-event.ts'
import { type Database, openDatabase } from '../../db/client.ts'
import { migrateDatabase } from '../../db/migrate.ts'
import { orderPlaced } from '../../lib/events.ts'
import { createTestDatabase } from '../support.ts'

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
    topic: 'it.batch.order',
    partition: 0,
    offset: String(offset),
    key: event.aggregateId,
    headers: { id: event.id, event_type: event.eventType },
    value: JSON.stringify(event.payload),
  }
}

/**
 * Batches from different partitions (or consumer processes) run at once and touch the same
 * read-model rows: orders are keyed by order id, so sales of one book land on every partition.
 */
describe('batched apply under concurrency', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let database: Database
  beforeAll(async () => {
    db = await createTestDatabase(stack.postgres.adminUrl, 'it_batch')
    await migrateDatabase(db.url)
    database = openDatabase(db.url, { max: 4 })
  })
  afterAll(async () => {
    await database?.close()
    await db?.drop()
  })

  it('does not deadlock when concurrent batches sell the same books in opposite orders, and counts every sale once', async () => {
    const books = Array.from({ length: 8 }, () => crypto.randomUUID())
    for (let round = 0; round < 15; round += 1) {
      const forward = books.map((id, i) => sale(id, i))
      const backward = [...books].reverse().map((id, i) => sale(id, i))
      const outcomes = await Promise.all([
        applyBatch(database.db, forward),
        applyBatch(database.db, backward),
      ])
      expect(outcomes.flat().every((o) => o === 'applied')).toBe(true)
    }
    const rows = await database.db.execute<{ units: number }>(
      sql`select units_sold as units from catalogue where book_id in (${sql.join(
        books.map((id) => sql`${id}`),
        sql`, `,
      )})`,
    )
    expect(rows.map((r) => r.units)).toEqual(books.map(() => 30))
  })
})
