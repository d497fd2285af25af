import { listDeadLetters } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { deadLetterTopic } from '../../lib/events.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/**
 * Poison that came through the outbox and Debezium, not from a test's producer: its headers are
 * what the EventRouter writes, a null traceparent among them.
 */
describe('dead letters of outbox records', () => {
  let p: Pipeline
  beforeAll(async () => {
    p = await startPipeline(stack)
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('dead-letters an event of an unknown type written to the outbox, and keeps consuming', async () => {
    const sql = p.database.db.$client
    const poisonId = crypto.randomUUID()
    await sql.begin(async (tx) => {
      await tx`insert into outbox (id, aggregate_type, aggregate_id, event_type, payload, created_at)
               values (${poisonId}, 'book', ${crypto.randomUUID()}, 'BookRenamed', '{}'::jsonb, now() at time zone 'utc')`
      await tx`delete from outbox where id = ${poisonId}`
    })
    const dlq = deadLetterTopic(p.namespace)
    await expect
      .poll(async () => (await listDeadLetters(p.kafka, dlq)).map((l) => [l.eventId, l.errorCode]), {
        timeout: 30_000,
      })
      .toEqual([[poisonId, 'UNKNOWN_EVENT_TYPE']])
    expect(p.consumer?.state).toBe('running')
    const book = await p.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title: 'After', author: 'A', price: 1, stock: 1 },
    })
    expect(book.statusCode).toBe(201)
    await expect
      .poll(
        async () => (await sql`select title from catalogue where book_id = ${book.json().id}`)[0]?.title,
        {
          timeout: 30_000,
        },
      )
      .toBe('After')
  })
})
