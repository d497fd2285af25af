import { sql } from 'drizzle-orm'
import type { IncomingEvent } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { bookAdded } from '../../lib/events.ts'
import { incomingRecord, saleRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { applyBatch } from '../order-side.ts'

const sale = (bookId: string, offset: number) =>
  saleRecord(bookId, { topic: 'it.batch.order', offset: String(offset), timestamp: undefined })

/**
 * Batches from different partitions (or consumer processes) run at once and touch the same
 * read-model rows: orders are keyed by order id, so sales of one book land on every partition.
 */
describe('batched apply under concurrency', () => {
  const fixture = useConsumerFixture('batch', { poolMax: 4, kafka: false })

  it('gives a mixed batch the same read model as one event at a time: book details and summed sales', async () => {
    const bookId = crypto.randomUUID()
    const added = bookAdded({
      id: bookId,
      title: 'Batch',
      author: 'B',
      price: 2,
      stock: 9,
      createdAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:00:00.000Z',
      removedAt: null,
    })
    const addedRecord = incomingRecord('it.batch.book', added, { offset: '0', timestamp: undefined })
    const sales = [sale(bookId, 1), sale(bookId, 2), sale(bookId, 3)]
    // A sale may arrive before its book (different topics): order within the batch must not matter.
    expect(
      await applyBatch(fixture.database.db, [sales[0] as IncomingEvent, addedRecord, ...sales.slice(1)]),
    ).toEqual(['applied', 'applied', 'applied', 'applied'])
    const [row] = await fixture.database.db.execute<{ title: string; units: number; revenue: number }>(
      sql`select title, units_sold as units, revenue_cents::int as revenue from catalogue where book_id = ${bookId}`,
    )
    expect(row).toEqual({ title: 'Batch', units: 3, revenue: 600 })
    // The same records again are duplicates and change nothing.
    expect(await applyBatch(fixture.database.db, [addedRecord, ...sales])).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
    ])
    const [again] = await fixture.database.db.execute<{ units: number }>(
      sql`select units_sold as units from catalogue where book_id = ${bookId}`,
    )
    expect(again?.units).toBe(3)
  })

  it('does not deadlock when concurrent batches sell the same books in opposite orders, and counts every sale once', async () => {
    const books = Array.from({ length: 200 }, () => crypto.randomUUID())
    for (let round = 0; round < 15; round += 1) {
      const forward = books.map((id, i) => sale(id, i))
      const backward = [...books].reverse().map((id, i) => sale(id, i))
      const outcomes = await Promise.all([
        applyBatch(fixture.database.db, forward),
        applyBatch(fixture.database.db, backward),
      ])
      expect(outcomes.flat().every((o) => o === 'applied')).toBe(true)
    }
    const rows = await fixture.database.db.execute<{ units: number }>(
      sql`select units_sold as units from catalogue where book_id in (${sql.join(
        books.map((id) => sql`${id}`),
        sql`, `,
      )})`,
    )
    expect(rows.map((r) => r.units)).toEqual(books.map(() => 30))
  })

  it('applies an event repeated inside one batch once (Connect re-sends after a crash), counting the repeats as redeliveries', async () => {
    const bookId = crypto.randomUUID()
    const [first, second] = [sale(bookId, 10), sale(bookId, 11)] as [IncomingEvent, IncomingEvent]
    const resent = { ...first, offset: '12' }
    // All in one transaction, no fallback to one at a time: a repeat is a duplicate, not an error.
    expect(
      await applyBatch(fixture.database.db, [first, second, resent, { ...resent, offset: '13' }]),
    ).toEqual(['applied', 'applied', 'duplicate', 'duplicate'])
    expect(await applyBatch(fixture.database.db, [{ ...first, offset: '14' }])).toEqual(['duplicate'])
    const [row] = await fixture.database.db.execute<{ units: number; redeliveries: number; offset: string }>(
      sql`select c.units_sold as units, e.redeliveries, e.kafka_offset::text as offset
          from catalogue c, consumed_events e
          where c.book_id = ${bookId} and e.event_id = ${first.headers.id}`,
    )
    // The inbox keeps where the event was first seen.
    expect(row).toEqual({ units: 2, redeliveries: 3, offset: '10' })
  })
})
