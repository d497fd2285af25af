import { createEventConsumer, type EventConsumer, ensureTopics } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { fulfilmentApp } from '../../fulfilment/handlers.ts'
import { topicFor } from '../../lib/events.ts'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/**
 * The promise (docs/events-and-saga.md, Topics) that a consumer started before `connector:register`
 * works, on the real stack: both consumers start while their namespace has no topic at all, then
 * the connector is registered (creating the topics) and events flow through Debezium. The order
 * side reads every `<namespace>.*` topic (a pattern), fulfilment its order topic by name.
 */
describe('a consumer started before its topics exist', () => {
  let p: Pipeline
  let orderSide: EventConsumer
  let fulfilment: EventConsumer
  let fulfilmentStarted: Promise<unknown>
  let topicsAtStart: string[] = []
  /** What each consumer said of itself once started, before any of its topics existed. */
  const beforeTopics: Record<string, { state: string; waitingFor: string[] }> = {}
  const groupOf = (id: string) => ({ orderSide: `consumer-${id}`, fulfilment: `fulfilment-${id}` })

  beforeAll(async () => {
    p = await startPipeline(stack, {
      consumer: false,
      beforeConnector: async ({ kafka, admin, db, namespace, id }) => {
        topicsAtStart = (await admin.listTopics()).filter((t) => t.startsWith(namespace))
        const common = {
          kafka,
          ...orderSideOn(db),
          namespace,
          retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
          topicWatchIntervalMs: 250,
        }
        orderSide = createEventConsumer({
          ...common,
          groupId: groupOf(id).orderSide,
          log: createLogger('it-order-side', 'silent'),
        })
        fulfilment = createEventConsumer({
          ...common,
          groupId: groupOf(id).fulfilment,
          topics: [topicFor('order', namespace)],
          app: fulfilmentApp,
          log: createLogger('it-fulfilment', 'silent'),
        })
        await orderSide.start()
        // Kept as a settled promise: a start that fails is the first test's finding, not a crash.
        fulfilmentStarted = fulfilment.start().then(
          () => 'started',
          (error: Error) => error,
        )
        await fulfilmentStarted
        for (const [name, c] of Object.entries({ orderSide, fulfilment }))
          beforeTopics[name] = { state: c.state, waitingFor: c.topics?.waitingFor }
      },
    })
  })
  afterAll(async () => {
    await fulfilment?.stop()
    await orderSide?.stop()
    await p?.stop()
  })

  const api = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const response = await p.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      ...(url === '/orders' ? { headers: { 'idempotency-key': crypto.randomUUID() } } : {}),
    })
    return { status: response.statusCode, body: response.json() }
  }
  const addBook = async (title: string) => {
    const { status, body } = await api('POST', '/books', { title, author: 'L', price: 3, stock: 5 })
    expect(status).toBe(201)
    return body as { id: string }
  }
  const inCatalogue = async (bookIds: string[]) =>
    (
      await p.database.db.$client<
        { n: number }[]
      >`select count(*)::int as n from catalogue where book_id = any(${bookIds}::uuid[])`
    )[0]?.n
  /** The ids of the events Debezium routed for these books, once the recorder has seen them. */
  const routedEventIds = async (bookIds: string[]) => {
    const ids = () =>
      p.records.filter((r) => r.key !== null && bookIds.includes(r.key)).map((r) => String(r.headers.id))
    await expect.poll(() => ids().length, { timeout: 30_000 }).toBe(bookIds.length)
    return ids()
  }
  /** Inbox rows for these events, and how often any of them was delivered again. */
  const inbox = async (eventIds: string[]) =>
    (
      await p.database.db.$client<{ rows: number; redeliveries: number }[]>`
        select count(*)::int as rows, coalesce(sum(redeliveries), 0)::int as redeliveries
        from consumed_events where event_id = any(${eventIds}::uuid[])`
    )[0]
  /** Records the group has not committed yet, over the namespace's event topics. */
  const uncommitted = async (groupId: string, namespace = p.namespace) => {
    const topics = (await p.admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`))
    let behind = 0
    for (const group of await p.admin.fetchOffsets({ groupId, topics })) {
      const high = await p.admin.fetchTopicOffsets(group.topic)
      for (const { partition, offset } of group.partitions) {
        const end = Number(high.find((h) => h.partition === partition)?.high ?? 0)
        behind += end - Math.max(0, Number(offset))
      }
    }
    return behind
  }

  it('starts while its namespace has no topic, and applies what the connector then routes: once each, committed', async () => {
    expect(topicsAtStart).toEqual([])
    expect(beforeTopics.orderSide).toEqual({ state: 'waiting', waitingFor: [`${p.namespace}.*`] })
    // Posted at once, most likely before the consumer has noticed the new topics: read from their
    // beginning, nothing written before it noticed is lost.
    const first = await addBook('Before it noticed')
    await expect.poll(() => inCatalogue([first.id]), { timeout: 30_000 }).toBe(1)
    const second = await addBook('After it noticed')
    await expect.poll(() => inCatalogue([second.id]), { timeout: 30_000 }).toBe(1)
    expect(await inbox(await routedEventIds([first.id, second.id]))).toEqual({ rows: 2, redeliveries: 0 })
    expect(orderSide.state).toBe('running')
    await expect.poll(() => uncommitted(groupOf(p.id).orderSide), { timeout: 30_000 }).toBe(0)
  })

  it('fulfilment, naming its order topic, waits for it instead of failing its start, then answers orders', async () => {
    expect(await fulfilmentStarted).toBe('started')
    expect(beforeTopics.fulfilment).toEqual({
      state: 'waiting',
      waitingFor: [topicFor('order', p.namespace)],
    })
    const book = await addBook('Ordered later')
    const placed = await api('POST', '/orders', {
      customerId: crypto.randomUUID(),
      bookId: book.id,
      quantity: 1,
    })
    expect(placed.status).toBe(201)
    const orderId = (placed.body as { id: string }).id
    await expect
      .poll(async () => (await api('GET', `/orders/${orderId}`)).body.status, { timeout: 30_000 })
      .toBe('fulfilled')
    expect(fulfilment.state).toBe('running')
  })

  it('reads a topic created while it reads others from its beginning, skipping and repeating nothing', async () => {
    const extra = `${p.namespace}.extra`
    await ensureTopics(p.admin, [{ topic: extra, partitions: 2 }])
    const direct = Array.from({ length: 5 }, (_, i) => bookPayload(`Extra ${i}`))
    const producer = p.kafka.producer()
    await producer.connect()
    const records = direct.map((b) => eventRecord(b))
    await producer.send({ topic: extra, messages: records })
    await producer.disconnect()
    const routed = await Promise.all(Array.from({ length: 5 }, (_, i) => addBook(`Routed ${i}`)))
    const ids = [...direct.map((b) => b.id), ...routed.map((b) => b.id)]
    const duplicatesBefore = orderSide.stats.duplicates
    await expect.poll(() => inCatalogue(ids), { timeout: 30_000 }).toBe(10)
    const eventIds = [
      ...records.map((r) => String(r.headers?.id)),
      ...(await routedEventIds(routed.map((b) => b.id))),
    ]
    expect(await inbox(eventIds)).toEqual({ rows: 10, redeliveries: 0 })
    expect(orderSide.stats.duplicates).toBe(duplicatesBefore)
    expect(orderSide.stats.deadLettered).toBe(0)
    await expect.poll(() => uncommitted(groupOf(p.id).orderSide), { timeout: 30_000 }).toBe(0)
  })

  it('reads records written to a new topic before it noticed the topic, at the default watch interval', async () => {
    // A namespace of its own (outside the order side's pattern) and a consumer polling the topic
    // list every 5 s: the new topic is created and written to well inside one interval.
    const ns = `it.${p.id}.late`
    const book = `${ns}.book`
    const extra = `${ns}.extra`
    const groupId = `late-${p.id}`
    const send = async (topic: string, count: number) => {
      const records = Array.from({ length: count }, (_, i) => eventRecord(bookPayload(`Late ${i}`)))
      const producer = p.kafka.producer()
      await producer.connect()
      await producer.send({ topic, messages: records })
      await producer.disconnect()
      return records.map((r) => String(r.headers?.id))
    }
    await ensureTopics(p.admin, [{ topic: book, partitions: 2 }])
    const late = createEventConsumer({
      kafka: p.kafka,
      ...orderSideOn(p.database.db),
      groupId,
      namespace: ns,
      log: createLogger('it-late', 'silent'),
      retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
    })
    try {
      const ids = await send(book, 3)
      await late.start()
      await expect.poll(() => late.stats.applied, { timeout: 20_000 }).toBe(3)

      await ensureTopics(p.admin, [{ topic: extra, partitions: 2 }])
      ids.push(...(await send(extra, 5)), ...(await send(book, 3)))
      expect(late.topics.reading).toEqual([book])
      await expect.poll(() => late.stats.applied, { timeout: 20_000 }).toBe(11)
      expect(late.topics).toEqual({ reading: [book, extra], waitingFor: [] })
      expect(late.stats).toMatchObject({ duplicates: 0, deadLettered: 0 })
      expect(await inbox(ids)).toEqual({ rows: 11, redeliveries: 0 })
      await expect.poll(() => uncommitted(groupId, ns), { timeout: 20_000 }).toBe(0)
    } finally {
      await late.stop()
      await p.admin.deleteTopics({ topics: [book, extra, `${ns}-dlq`] })
    }
  })
})
