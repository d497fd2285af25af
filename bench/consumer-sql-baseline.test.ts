import { drizzle } from 'drizzle-orm/postgres-js'
import type postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { applyBatch, type IncomingEvent } from '../consumer/apply-event.ts'
import type { Db } from '../db/client.ts'
import * as schema from '../db/schema.ts'
import { applyBatchAsConsumer, type BaselineRecord, type StatementRunner } from './consumer-sql-baseline.ts'

interface Sent {
  text: string
  params: unknown[]
}

/** Answers like Postgres would for a batch whose events are all new: every inbox row fresh. */
const answer = (text: string, params: unknown[]): unknown[][] =>
  text.startsWith('insert into "consumed_events"')
    ? Array.from({ length: params.length / 6 }, (_, i) => [params[i * 6], true])
    : []

/** A stand-in for postgres.js that records what it is sent: enough for Drizzle's session. */
function recordingClient(sent: Sent[]) {
  const client = {
    options: { parsers: {}, serializers: {} },
    begin: async (work: (tx: unknown) => Promise<unknown>) => work(client),
    unsafe(text: string, params: unknown[]) {
      sent.push({ text, params })
      const rows = answer(text, params)
      return Object.assign(Promise.resolve(rows), { values: () => Promise.resolve(rows) })
    },
  }
  return client
}

const books = ['6f1c1d0e-5a43-4a6f-9d0e-1b7b9c3f0a01', '0b9e4f6c-2d8a-4c1e-8f3b-7a5d2e9c4b02']
const records: BaselineRecord[] = [0, 1, 2].map((i) => ({
  eventId: `1d2e3f40-0000-4000-8000-00000000000${i}`,
  topic: 'bench.consume.order',
  partition: 1,
  offset: BigInt(40 + i),
  occurredAt: new Date(1_790_000_000_000 + i).toISOString(),
  bookId: books[i % 2] as string,
  quantity: 1 + i,
  total: 9.99 * (1 + i),
}))
const asKafkaRecord = (r: BaselineRecord): IncomingEvent => ({
  topic: r.topic,
  partition: r.partition,
  offset: String(r.offset),
  key: crypto.randomUUID(),
  headers: { id: r.eventId, event_type: 'OrderPlaced' },
  timestamp: String(Date.parse(r.occurredAt)),
  value: JSON.stringify({
    id: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    bookId: r.bookId,
    quantity: r.quantity,
    total: r.total,
    status: 'placed',
    createdAt: r.occurredAt,
  }),
})

describe('the consumer SQL baseline', () => {
  it("sends the statements the consumer's applyBatch sends for a batch of sales (update consumerBatchSql when this fails)", async () => {
    const fromConsumer: Sent[] = []
    const db = drizzle(recordingClient(fromConsumer) as unknown as postgres.Sql, { schema }) as Db
    await applyBatch(db, records.map(asKafkaRecord))

    const fromBaseline: Sent[] = []
    const applied = await applyBatchAsConsumer(
      recordingClient(fromBaseline) as unknown as StatementRunner,
      records,
    )

    expect(applied).toBe(3)
    expect(fromBaseline.map((s) => s.text)).toEqual(fromConsumer.map((s) => s.text))
    expect(fromBaseline.map((s) => s.params)).toEqual(fromConsumer.map((s) => s.params))
    expect(fromConsumer).toHaveLength(3)
  })
})
