import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createEventConsumer, type EventConsumer } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { fulfilmentApp } from '../../fulfilment/handlers.ts'
import { topicFor } from '../../lib/events.ts'
import { createLogger } from '../../lib/logger.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import { orderSideOn } from '../order-side.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/**
 * consumer:replay meets the saga: both services' groups are moved back to the beginning with
 * `npm run consumer:replay` and their consumers started again. Their inboxes skip every event
 * already applied, so the handlers that append (fulfilment's shipment events, the order side's
 * OrderCancelled) do not run again: no second shipment event, no second OrderCancelled, no stock
 * returned twice.
 */
describe('consumer:replay of the saga’s groups from the beginning', () => {
  let p: Pipeline
  const running: EventConsumer[] = []
  const groups = () => ({ orderSide: `consumer-${p.id}`, fulfilment: `fulfilment-${p.id}` })

  const orderSide = () =>
    createEventConsumer({
      kafka: p.kafka,
      ...orderSideOn(p.database.db),
      groupId: groups().orderSide,
      namespace: p.namespace,
      log: createLogger('it-order-side', 'silent'),
      retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
    })
  const fulfilment = () =>
    createEventConsumer({
      kafka: p.kafka,
      ...orderSideOn(p.database.db),
      groupId: groups().fulfilment,
      namespace: p.namespace,
      topics: [topicFor('order', p.namespace)],
      app: fulfilmentApp,
      log: createLogger('it-fulfilment', 'silent'),
      retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
    })
  const startBoth = async () => {
    const both = [orderSide(), fulfilment()]
    for (const c of both) {
      running.push(c)
      await c.start()
    }
    return both
  }

  beforeAll(async () => {
    p = await startPipeline(stack, { consumer: false })
  })
  afterAll(async () => {
    for (const c of running) await c.stop().catch(() => {})
    await p?.admin.deleteGroups(Object.values(groups())).catch(() => {})
    await p?.stop()
  })

  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) => {
    const response = await p.app.inject({
      method,
      url,
      ...(payload ? { payload } : {}),
      ...(url === '/orders' ? { headers: { 'idempotency-key': crypto.randomUUID() } } : {}),
    })
    return { status: response.statusCode, body: response.json() }
  }
  const order = async (bookId: string, quantity: number) => {
    const { status, body } = await api('POST', '/orders', {
      customerId: crypto.randomUUID(),
      bookId,
      quantity,
    })
    expect(status).toBe(201)
    return (body as { id: string }).id
  }
  const statusOf = async (id: string) => (await api('GET', `/orders/${id}`)).body.status
  /** The types of the distinct events (by event id) keyed by `key`: a record read twice counts once. */
  const typesFor = (key: string) =>
    [...new Map(p.records.filter((r) => r.key === key).map((r) => [String(r.headers.id), r])).values()]
      .map((r) => String(r.headers.event_type))
      .sort()
  /** `npm run consumer:replay -- --from beginning` for `groupId`; not spawnSync, so the recorder keeps its group. */
  const replay = async (groupId: string) => {
    const child = spawn(
      join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [join(repoRoot, 'scripts', 'outbox-cdc.ts'), 'replay', '--from', 'beginning'],
      {
        env: {
          ...process.env,
          KAFKA_BROKERS: stack.kafka.brokers.join(','),
          TOPIC_NAMESPACE: p.namespace,
          CONSUMER_GROUP: groupId,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    return { code, output }
  }
  /** Records of the group's topics it has not committed. */
  const lag = async (groupId: string, topics: string[]) => {
    let behind = 0
    for (const { topic, partitions } of await p.admin.fetchOffsets({ groupId, topics })) {
      const ends = await p.admin.fetchTopicOffsets(topic)
      for (const { partition, offset } of partitions) {
        const end = Number(ends.find((e) => e.partition === partition)?.high ?? 0)
        behind += end - Math.max(0, Number(offset))
      }
    }
    return behind
  }

  it('appends no second shipment event nor OrderCancelled, and returns no stock twice', {
    timeout: 180_000,
  }, async () => {
    const [orderSideFirst, fulfilmentFirst] = await startBoth()
    const added = await api('POST', '/books', { title: 'Replayed saga', author: 'R', price: 3, stock: 10 })
    expect(added.status).toBe(201)
    const bookId = (added.body as { id: string }).id
    expect((await api('PUT', `/books/${bookId}/warehouse-capacity`, { capacity: 1 })).status).toBe(200)
    const fulfilled = await order(bookId, 1)
    const cancelled = await order(bookId, 2)
    await expect.poll(() => statusOf(fulfilled), { timeout: 30_000 }).toBe('fulfilled')
    await expect.poll(() => statusOf(cancelled), { timeout: 30_000 }).toBe('cancelled')
    await expect
      .poll(() => typesFor(cancelled), { timeout: 30_000 })
      .toEqual(['OrderCancelled', 'OrderPlaced', 'ShipmentFailed'])
    expect(typesFor(fulfilled)).toEqual(['OrderPlaced', 'ShipmentDispatched'])
    const stock = (await api('GET', `/books/${bookId}`)).body.stock
    expect(stock).toBe(9)

    await orderSideFirst?.stop()
    await fulfilmentFirst?.stop()
    for (const groupId of Object.values(groups())) {
      const moved = await replay(groupId)
      expect(moved.code, moved.output).toBe(0)
      expect(moved.output).toMatch(/→ offset 0/)
    }

    const [orderSideAgain, fulfilmentAgain] = await startBoth()
    const eventTopics = ['book', 'order', 'shipment'].map((a) => topicFor(a as 'book', p.namespace))
    await expect.poll(() => lag(groups().orderSide, eventTopics), { timeout: 60_000 }).toBe(0)
    await expect
      .poll(() => lag(groups().fulfilment, [topicFor('order', p.namespace)]), { timeout: 60_000 })
      .toBe(0)
    // Everything re-read was skipped by the inboxes: no handler ran again.
    expect(orderSideAgain?.stats).toMatchObject({ applied: 0, deadLettered: 0 })
    expect(orderSideAgain?.stats.duplicates).toBeGreaterThanOrEqual(6)
    expect(fulfilmentAgain?.stats).toMatchObject({ applied: 0, deadLettered: 0 })
    expect(fulfilmentAgain?.stats.duplicates).toBeGreaterThanOrEqual(2)

    // A later order through the whole saga: whatever the replay appended is in Kafka before it.
    const marker = await order(bookId, 3)
    await expect
      .poll(() => typesFor(marker), { timeout: 30_000 })
      .toEqual(['OrderCancelled', 'OrderPlaced', 'ShipmentFailed'])
    expect(typesFor(cancelled)).toEqual(['OrderCancelled', 'OrderPlaced', 'ShipmentFailed'])
    expect(typesFor(fulfilled)).toEqual(['OrderPlaced', 'ShipmentDispatched'])
    expect(await statusOf(fulfilled)).toBe('fulfilled')
    expect(await statusOf(cancelled)).toBe('cancelled')
    expect((await api('GET', `/books/${bookId}`)).body.stock).toBe(stock)
    const [shipments] = await p.database.db.$client<{ n: number }[]>`
      select count(*)::int as n from shipments where order_id = any(${[fulfilled, cancelled, marker]}::uuid[])`
    expect(shipments?.n).toBe(3)
  })
})
