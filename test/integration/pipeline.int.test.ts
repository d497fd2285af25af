import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { catalogue, consumedEvents } from '../../db/schema.ts'
import { type Pipeline, type RecordedMessage, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/**
 * API → Postgres (outbox) → Debezium EventRouter → Kafka → consumer, on the real stack. Each
 * event type is checked in Kafka itself, then in the consumer's inbox and read model.
 */
describe('the outbox pipeline end to end', () => {
  let p: Pipeline
  beforeAll(async () => {
    p = await startPipeline(stack)
  })
  afterAll(async () => {
    await p?.stop()
  })

  const recordOf = async (eventType: string, aggregateId: string): Promise<RecordedMessage> => {
    let found: RecordedMessage | undefined
    await expect
      .poll(
        () => {
          found = p.records.find((r) => r.headers.event_type === eventType && r.key === aggregateId)
          return found !== undefined
        },
        { timeout: 20_000 },
      )
      .toBe(true)
    return found as RecordedMessage
  }
  const inboxRow = async (eventId: string) =>
    (await p.database.db.select().from(consumedEvents).where(sql`${consumedEvents.eventId} = ${eventId}`))[0]
  const catalogueRow = async (bookId: string) =>
    (await p.database.db.select().from(catalogue).where(sql`${catalogue.bookId} = ${bookId}`))[0]

  const postBook = async (
    body: object = { title: 'Dune', author: 'Frank Herbert', price: 12.99, stock: 5 },
  ) => {
    const response = await p.app.inject({ method: 'POST', url: '/books', payload: body })
    expect(response.statusCode).toBe(201)
    return response.json()
  }

  const placeOrder = async (bookId: string, quantity: number) => {
    const response = await p.app.inject({
      method: 'POST',
      url: '/orders',
      payload: { customerId: crypto.randomUUID(), bookId, quantity },
    })
    expect(response.statusCode).toBe(201)
    return response.json()
  }

  /** Sends the very same record again, as Connect does after a crash before its offset flush. */
  const redeliver = async (record: RecordedMessage) => {
    const producer = p.kafka.producer()
    await producer.connect()
    await producer.send({
      topic: record.topic,
      messages: [
        {
          key: record.key,
          value: record.value,
          headers: { id: record.headers.id ?? '', event_type: record.headers.event_type ?? '' },
        },
      ],
    })
    await producer.disconnect()
  }

  it('BookAdded: one record on <ns>.book keyed by the book id, with id and event_type headers and the API response as JSON', async () => {
    const book = await postBook()
    const record = await recordOf('BookAdded', book.id)
    expect(record.topic).toBe(`${p.namespace}.book`)
    expect(record.headers.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(JSON.parse(record.value ?? '')).toEqual(book)
    expect(Object.keys(record.headers).filter((h) => h.startsWith('__debezium'))).toEqual([])

    await expect
      .poll(() => inboxRow(record.headers.id ?? ''), { timeout: 20_000 })
      .toMatchObject({
        eventType: 'BookAdded',
        topic: record.topic,
        partition: record.partition,
        kafkaOffset: BigInt(record.offset),
      })
    // The inbox keeps when the event was written (the record time), so arrival delay is queryable.
    const applied = await inboxRow(record.headers.id ?? '')
    expect(applied?.occurredAt?.getTime()).toBe(Number(record.timestamp))
    expect(applied?.consumedAt.getTime()).toBeGreaterThanOrEqual(Number(record.timestamp))
    expect(await catalogueRow(book.id)).toMatchObject({
      title: 'Dune',
      author: 'Frank Herbert',
      priceCents: 1299,
    })
  })

  it('OrderPlaced: takes the stock, publishes the order on <ns>.order, and the read model counts the sale', async () => {
    const book = await postBook({ title: 'Emma', author: 'Jane Austen', price: 8.5, stock: 4 })
    const customerId = crypto.randomUUID()
    const response = await p.app.inject({
      method: 'POST',
      url: '/orders',
      payload: { customerId, bookId: book.id, quantity: 3 },
    })
    expect(response.statusCode).toBe(201)
    const order = response.json()
    expect(order).toMatchObject({ customerId, bookId: book.id, quantity: 3, total: 25.5, status: 'placed' })
    expect((await p.app.inject({ url: `/books/${book.id}` })).json().stock).toBe(1)

    const record = await recordOf('OrderPlaced', order.id)
    expect(record.topic).toBe(`${p.namespace}.order`)
    expect(JSON.parse(record.value ?? '')).toEqual(order)
    await expect.poll(async () => (await catalogueRow(book.id))?.unitsSold, { timeout: 20_000 }).toBe(3)
    expect((await catalogueRow(book.id))?.revenueCents).toBe(2550)
    expect(await inboxRow(record.headers.id ?? '')).toMatchObject({ eventType: 'OrderPlaced' })
  })

  it('BookRemoved: publishes the removed book and the read model marks it', async () => {
    const book = await postBook({ title: 'Ulysses', author: 'James Joyce', price: 20, stock: 1 })
    const response = await p.app.inject({ method: 'DELETE', url: `/books/${book.id}` })
    expect(response.statusCode).toBe(200)
    const removed = response.json()
    expect(removed.removedAt).not.toBeNull()

    const record = await recordOf('BookRemoved', book.id)
    expect(JSON.parse(record.value ?? '')).toEqual(removed)
    await expect
      .poll(async () => (await catalogueRow(book.id))?.removedAt?.toISOString(), { timeout: 20_000 })
      .toBe(removed.removedAt)
  })

  it('skips a duplicate delivery: the inbox keeps the read model from counting a sale twice', async () => {
    const book = await postBook({ title: 'Beloved', author: 'Toni Morrison', price: 10, stock: 10 })
    const order = await placeOrder(book.id, 2)
    const original = await recordOf('OrderPlaced', order.id)
    await expect.poll(async () => (await catalogueRow(book.id))?.unitsSold, { timeout: 20_000 }).toBe(2)
    const duplicatesBefore = p.consumer?.stats.duplicates ?? 0

    await redeliver(original)

    await expect.poll(() => p.consumer?.stats.duplicates, { timeout: 20_000 }).toBe(duplicatesBefore + 1)
    expect((await catalogueRow(book.id))?.unitsSold).toBe(2)
    const [count] = await p.database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from consumed_events where event_id = ${original.headers.id}`,
    )
    expect(count?.n).toBe(1)
  })

  it('is atomic: when appending the event fails after the domain insert, neither the book nor an event exists', async () => {
    // Sabotage the outbox for one title only, so the book insert succeeds and the event insert fails.
    await p.database.db.execute(
      sql`alter table outbox add constraint it_reject check (payload->>'title' <> 'Doomed')`,
    )
    try {
      const failed = await p.app.inject({
        method: 'POST',
        url: '/books',
        payload: { title: 'Doomed', author: 'Nobody', price: 1, stock: 1 },
      })
      expect(failed.statusCode).toBe(500)
    } finally {
      await p.database.db.execute(sql`alter table outbox drop constraint it_reject`)
    }
    const [books] = await p.database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from books where title = 'Doomed'`,
    )
    expect(books?.n).toBe(0)

    // A later write on the same topic arrives; the failed one never does.
    const after = await postBook({ title: 'Survivor', author: 'Somebody', price: 1, stock: 1 })
    await recordOf('BookAdded', after.id)
    expect(p.records.some((r) => r.value?.includes('Doomed'))).toBe(false)
  })

  it('keeps the database password out of the config Connect stores and shows, and out of its log', async () => {
    const shown = await p.connect.getConfig(p.connectorEnv.CONNECTOR_NAME)
    expect(shown?.['database.password']).toBe(p.connectorEnv.CONNECTOR_DB_PASSWORD_REF)
    expect(shown?.['database.password']).toMatch(/^\$\{(file|env):/)
    if (stack.secretsDir) {
      const password = readFileSync(join(stack.secretsDir, 'postgres-cdc.password'), 'utf8').trim()
      expect(JSON.stringify(shown)).not.toContain(password)
      const connectLog = join(stack.secretsDir, '..', 'connect', 'connect.log')
      expect(readFileSync(connectLog, 'utf8')).not.toContain(password)
    }
  })

  it('keeps the outbox table empty, and delivers what was written while the connector was paused', async () => {
    await p.connect.pause(p.connectorEnv.CONNECTOR_NAME)
    await p.connect.waitForState(p.connectorEnv.CONNECTOR_NAME, 'PAUSED', 20_000)
    const book = await postBook({ title: 'Written while paused', author: 'Lag', price: 3, stock: 3 })
    const [outboxRows] = await p.database.db.execute<{ n: number }>(
      sql`select count(*)::int as n from outbox`,
    )
    expect(outboxRows?.n).toBe(0)

    await p.connect.resume(p.connectorEnv.CONNECTOR_NAME)
    const record = await recordOf('BookAdded', book.id)
    expect(JSON.parse(record.value ?? '')).toEqual(book)
  })

  it('exposes consumer metrics: applied by type, duplicates skipped, and commit-to-apply latency', async () => {
    // Counted as differences around this test's own events: it passes alone and in any order.
    const metric = async (pattern: RegExp) =>
      Number(pattern.exec(await p.consumerMetrics.registry.metrics())?.[1] ?? 0)
    const series = {
      booksApplied: /^consumer_events_applied_total\{event_type="BookAdded"\} (\d+)$/m,
      ordersApplied: /^consumer_events_applied_total\{event_type="OrderPlaced"\} (\d+)$/m,
      duplicates: /^consumer_duplicates_skipped_total (\d+)$/m,
      bookLatencies: /^consumer_commit_to_apply_seconds_count\{event_type="BookAdded"\} (\d+)$/m,
      processed: /^consumer_processing_seconds_count (\d+)$/m,
    }
    const read = async () =>
      Object.fromEntries(
        await Promise.all(
          Object.entries(series).map(async ([name, re]) => [name, await metric(re)] as const),
        ),
      ) as Record<keyof typeof series, number>
    const before = await read()
    const book = await postBook({ title: 'Metered', author: 'M', price: 4, stock: 4 })
    const order = await placeOrder(book.id, 1)
    await expect.poll(async () => (await catalogueRow(book.id))?.unitsSold, { timeout: 20_000 }).toBe(1)
    await redeliver(await recordOf('OrderPlaced', order.id))
    await expect.poll(async () => (await read()).duplicates, { timeout: 20_000 }).toBe(before.duplicates + 1)
    const after = await read()
    // At least: an event of an earlier test (the one written while the connector was paused)
    // may be applied after `before` was read.
    expect(after.booksApplied - before.booksApplied).toBeGreaterThanOrEqual(1)
    expect(after.ordersApplied - before.ordersApplied).toBeGreaterThanOrEqual(1)
    expect(after.bookLatencies - before.bookLatencies).toBeGreaterThanOrEqual(1)
    expect(after.processed - before.processed).toBeGreaterThanOrEqual(3)
  })
})
