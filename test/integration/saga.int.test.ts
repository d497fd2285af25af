import { createConsumerMetrics, createEventConsumer, listDeadLetters } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { freshnessCheck } from '../../doctor/freshness.ts'
import { sagaCheck } from '../../doctor/saga.ts'
import { fulfilmentApp } from '../../fulfilment/handlers.ts'
import { deadLetterTopic, shipmentDispatched, shipmentFailed, topicFor } from '../../lib/events.ts'
import { createLogger } from '../../lib/logger.ts'
import { orderSideOn } from '../order-side.ts'
import { doctorTargetsOf, type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/**
 * The order's whole life across the two services, on the real stack: fulfilment reads OrderPlaced
 * and answers through its own outbox; the order service's consumer moves the order on.
 */
describe('fulfilment saga', () => {
  let p: Pipeline
  let fulfilment: ReturnType<typeof createEventConsumer>
  const fulfilmentMetrics = createConsumerMetrics()

  beforeAll(async () => {
    p = await startPipeline(stack)
    fulfilment = createEventConsumer({
      kafka: p.kafka,
      ...orderSideOn(p.database.db),
      groupId: `fulfilment-${p.id}`,
      namespace: p.namespace,
      topics: [topicFor('order', p.namespace)],
      app: fulfilmentApp,
      log: createLogger('it-fulfilment', 'silent'),
      retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
      metrics: fulfilmentMetrics,
    })
    await fulfilment.start()
  })
  afterAll(async () => {
    await fulfilment?.stop()
    await p?.stop()
  })

  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
    const response = await p.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      ...(method === 'POST' && url === '/orders'
        ? { headers: { 'idempotency-key': crypto.randomUUID() } }
        : {}),
    })
    return { status: response.statusCode, body: response.json() }
  }
  const addBook = async (stock: number) => {
    const { status, body } = await api('POST', '/books', { title: 'Saga', author: 'S', price: 2.5, stock })
    expect(status).toBe(201)
    return body as { id: string }
  }
  const order = async (bookId: string, quantity: number) => {
    const { status, body } = await api('POST', '/orders', {
      customerId: crypto.randomUUID(),
      bookId,
      quantity,
    })
    expect(status).toBe(201)
    return body as { id: string }
  }
  const orderOf = async (id: string) => (await api('GET', `/orders/${id}`)).body
  const stockOf = async (id: string) => (await api('GET', `/books/${id}`)).body.stock
  const unitsSold = async (bookId: string) =>
    (
      await p.database.db.$client<
        { units_sold: number }[]
      >`select units_sold from catalogue where book_id = ${bookId}`
    )[0]?.units_sold
  const recorded = (topic: string, key: string) => p.records.filter((r) => r.topic === topic && r.key === key)

  it('fulfils an order within the warehouse capacity, through a shipment event keyed by the order', async () => {
    const book = await addBook(5)
    await api('PUT', `/books/${book.id}/warehouse-capacity`, { capacity: 3 })
    const placed = await order(book.id, 3)
    await expect.poll(async () => (await orderOf(placed.id)).status, { timeout: 30_000 }).toBe('fulfilled')
    const done = await orderOf(placed.id)
    expect(done).toMatchObject({ warehouseCapacity: 3, cancelledAt: null, cancelReason: null })
    expect(new Date(done.fulfilledAt).getTime()).toBeGreaterThanOrEqual(new Date(done.createdAt).getTime())
    expect(await stockOf(book.id)).toBe(2)
    // The test's recorder reads the topics in a group of its own, which may come after the order
    // service's consumer: the order is fulfilled before the recorder has seen the shipment.
    await expect
      .poll(() => recorded(topicFor('shipment', p.namespace), placed.id).map((r) => r.headers.event_type), {
        timeout: 30_000,
      })
      .toEqual(['ShipmentDispatched'])
    const [row] = await p.database.db
      .$client`select status, reason from shipments where order_id = ${placed.id}`
    expect(row).toEqual({ status: 'dispatched', reason: null })
  })

  it("carries the order's traceparent through every event the saga appends for it", async () => {
    const book = await addBook(4)
    await api('PUT', `/books/${book.id}/warehouse-capacity`, { capacity: 1 })
    const traceparent = `00-${crypto.randomUUID().replaceAll('-', '')}-${'ab'.repeat(8)}-01`
    const response = await p.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'idempotency-key': crypto.randomUUID(), traceparent },
      payload: { customerId: crypto.randomUUID(), bookId: book.id, quantity: 2 },
    })
    expect(response.statusCode).toBe(201)
    const placed = response.json() as { id: string }
    const orderTopic = topicFor('order', p.namespace)
    const shipmentTopic = topicFor('shipment', p.namespace)
    // Polled as a whole: the recorder may read the order topic ahead of the shipment topic.
    const events = () => [...recorded(orderTopic, placed.id), ...recorded(shipmentTopic, placed.id)]
    await expect
      .poll(() => events().map((r) => [r.headers.event_type, r.headers.traceparent]), { timeout: 30_000 })
      .toEqual([
        ['OrderPlaced', traceparent],
        ['OrderCancelled', traceparent],
        ['ShipmentFailed', traceparent],
      ])
  })

  it('cancels an order above the capacity, returns its stock once and appends OrderCancelled', async () => {
    const book = await addBook(4)
    await api('PUT', `/books/${book.id}/warehouse-capacity`, { capacity: 1 })
    const placed = await order(book.id, 2)
    expect(await stockOf(book.id)).toBe(2)
    await expect.poll(async () => (await orderOf(placed.id)).status, { timeout: 30_000 }).toBe('cancelled')
    expect(await orderOf(placed.id)).toMatchObject({
      fulfilledAt: null,
      cancelReason: '2 copies exceed the warehouse capacity of 1 per shipment',
    })
    expect(await stockOf(book.id)).toBe(4)
    const orderTopic = topicFor('order', p.namespace)
    await expect
      .poll(() => recorded(orderTopic, placed.id).map((r) => r.headers.event_type), { timeout: 30_000 })
      .toEqual(['OrderPlaced', 'OrderCancelled'])
    // Units sold net of the cancellation, once OrderCancelled is applied too.
    await expect.poll(() => unitsSold(book.id), { timeout: 30_000 }).toBe(0)
  })

  it('changes nothing on a repeated or late shipment event: refused, counted, never dead-lettered', async () => {
    const book = await addBook(3)
    const placed = await order(book.id, 1)
    await expect.poll(async () => (await orderOf(placed.id)).status, { timeout: 30_000 }).toBe('fulfilled')
    const refusedBefore = (await p.consumerMetrics.refusedTransitions.get()).values.reduce(
      (s, v) => s + v.value,
      0,
    )
    const shipmentTopic = topicFor('shipment', p.namespace)
    await expect.poll(() => recorded(shipmentTopic, placed.id).length, { timeout: 30_000 }).toBe(1)
    const original = recorded(shipmentTopic, placed.id)[0]
    if (!original) throw new Error('no ShipmentDispatched recorded')
    // A late, conflicting answer (a fresh event id, so the inbox cannot catch it) and a redelivery.
    const late = shipmentFailed({
      orderId: placed.id,
      bookId: book.id,
      quantity: 1,
      status: 'failed',
      reason: 'late',
      createdAt: new Date().toISOString(),
    })
    const again = shipmentDispatched({
      orderId: placed.id,
      bookId: book.id,
      quantity: 1,
      status: 'dispatched',
      reason: null,
      createdAt: new Date().toISOString(),
    })
    const producer = p.kafka.producer()
    await producer.connect()
    await producer.send({
      topic: shipmentTopic,
      acks: -1,
      messages: [
        {
          key: placed.id,
          value: JSON.stringify(late.payload),
          headers: { id: late.id, event_type: late.eventType },
        },
        {
          key: placed.id,
          value: original.value,
          headers: { id: String(original.headers.id), event_type: 'ShipmentDispatched' },
        },
        {
          key: placed.id,
          value: JSON.stringify(again.payload),
          headers: { id: again.id, event_type: again.eventType },
        },
      ],
    })
    await producer.disconnect()
    await expect
      .poll(
        async () =>
          (await p.consumerMetrics.refusedTransitions.get()).values.reduce((s, v) => s + v.value, 0),
        {
          timeout: 30_000,
        },
      )
      .toBe(refusedBefore + 2)
    expect(await orderOf(placed.id)).toMatchObject({ status: 'fulfilled', cancelledAt: null })
    expect(await stockOf(book.id)).toBe(2)
    const [inbox] = await p.database.db
      .$client`select redeliveries from consumed_events where event_id = ${String(original.headers.id)}`
    expect(inbox).toEqual({ redeliveries: 1 })
    expect(await listDeadLetters(p.kafka, deadLetterTopic(p.namespace))).toEqual([])
    expect(recorded(topicFor('order', p.namespace), placed.id).map((r) => r.headers.event_type)).toEqual([
      'OrderPlaced',
    ])
  })

  it('refuses a bad warehouse capacity and an unknown book, changing nothing', async () => {
    const book = await addBook(1)
    for (const capacity of [-1, 1.5, '2', 2_000_000]) {
      const { status } = await api('PUT', `/books/${book.id}/warehouse-capacity`, { capacity })
      expect(status, String(capacity)).toBe(400)
    }
    expect((await api('PUT', `/books/${book.id}/warehouse-capacity`, {})).status).toBe(400)
    expect(
      (await api('PUT', `/books/${crypto.randomUUID()}/warehouse-capacity`, { capacity: 1 })).status,
    ).toBe(404)
    expect((await api('GET', `/books/${book.id}`)).body.warehouseCapacity).toBeNull()
    expect((await api('PUT', `/books/${book.id}/warehouse-capacity`, { capacity: null })).status).toBe(200)
  })

  it("keeps the doctor's freshness ok on an idle pipeline after a capacity change, which writes no event", async () => {
    // staleAfterS 0: any write whose event is not applied yet fails at once, whatever its age.
    const fresh = async () =>
      (
        await freshnessCheck.run(
          { sql: p.database.db.$client, connect: p.connect, kafka: p.kafka },
          doctorTargetsOf(p, { staleAfterS: 0, fulfilmentGroup: `fulfilment-${p.id}` }),
        )
      ).map((f) => [f.severity, f.detail])
    const book = await addBook(5)
    await api('PUT', `/books/${book.id}/warehouse-capacity`, { capacity: 1 })
    const [fulfilled, cancelled] = [await order(book.id, 1), await order(book.id, 2)]
    await expect.poll(async () => (await orderOf(fulfilled.id)).status, { timeout: 30_000 }).toBe('fulfilled')
    await expect.poll(async () => (await orderOf(cancelled.id)).status, { timeout: 30_000 }).toBe('cancelled')
    // Every event of the saga (placed, shipped, cancelled) applied by both services: fresh.
    await expect.poll(fresh, { timeout: 30_000 }).toEqual([['ok', expect.any(String)]])
    expect((await api('PUT', `/books/${book.id}/warehouse-capacity`, { capacity: 4 })).status).toBe(200)
    expect(await fresh()).toEqual([['ok', expect.any(String)]])
  })

  it('is reported by the doctor when an order waits for an answer that does not come', async () => {
    const targets = doctorTargetsOf(p, { fulfilmentGroup: `fulfilment-${p.id}`, staleAfterS: 2 })
    const doctor = () =>
      sagaCheck.run({ sql: p.database.db.$client, connect: p.connect, kafka: p.kafka }, targets)
    expect(await doctor()).toEqual([expect.objectContaining({ check: 'saga.orders', severity: 'ok' })])
    await fulfilment.stop()
    const book = await addBook(2)
    await order(book.id, 1)
    await expect
      .poll(async () => (await doctor()).map((f) => [f.check, f.severity]), { timeout: 30_000 })
      .toEqual([['saga.orders', 'fail']])
  })

  it("reports, in the doctor's freshness, an order that fulfilment has not applied", async () => {
    await fulfilment.stop()
    const book = await addBook(2)
    await order(book.id, 1)
    const check = () =>
      freshnessCheck.run(
        { sql: p.database.db.$client, connect: p.connect, kafka: p.kafka },
        doctorTargetsOf(p, { staleAfterS: 0, fulfilmentGroup: `fulfilment-${p.id}` }),
      )
    await expect
      .poll(async () => (await check()).map((f) => [f.severity, f.detail]), { timeout: 30_000 })
      .toEqual([['fail', expect.stringMatching(/fulfilment_inbox/)]])
  })
})
