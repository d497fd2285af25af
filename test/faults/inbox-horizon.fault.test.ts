import type { Admin } from 'kafkajs'
import {
  deadLetterMessage,
  readInboxHorizon,
  redriveDeadLetters,
  redriveGroupOf,
  replayGroup,
  toIncoming,
} from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadLetterTopic, orderPlaced, topicFor } from '../../lib/events.ts'
import { type Rig, startRig } from '../../stack/rig.ts'
import { mainConfig, untilApiAnswers } from './own-stack.ts'

/** Tries at SIGKILLing Connect between a record sent and its position recorded (1 s flushes). */
const connectKillTries = Number(process.env.FAULT_HORIZON_CONNECT_TRIES ?? 5)
const group = 'outbox-cdc-consumer'
const horizonTable = 'outbox_cdc_inbox_horizon'

/**
 * The inbox's horizon with every retention shrunk to seconds: event topics keep records 30 s
 * (segments of 30 s, retention checked every second), the inbox 5 s, the clock margin 1 s. Rows are
 * pruned within a minute, and then every way a record comes back is tried: a consumer SIGKILLed
 * and restarted, Connect SIGKILLed before it recorded what it had sent and kept down past both
 * retentions (it re-sends), a replay to the beginning, and a redrive of a letter whose event was
 * applied through another copy. Each OrderPlaced adds its quantity to the book's units sold, so
 * an event applied twice shows as units sold above the orders placed.
 */
describe.skipIf(mainConfig.env.STACK_MODE !== 'native')('the inbox horizon on a stack of its own', () => {
  let rig: Rig
  let admin: Admin
  let placed = 0
  let bookId = ''

  beforeAll(async () => {
    rig = await startRig({
      consumers: 1,
      name: 'horizon',
      retentionCheckMs: 1000,
      connectorEnv: { TOPIC_RETENTION_MS: '30000', CONNECTOR_HEARTBEAT_INTERVAL_MS: '1000' },
      serviceEnv: { INBOX_RETENTION: '5s', INBOX_PRUNE_INTERVAL_MS: '1000', INBOX_CLOCK_MARGIN_MS: '1000' },
    })
    // The API process starts beside the stack: wait until it answers.
    await untilApiAnswers(rig.apiUrl)
    const response = await fetch(`${rig.apiUrl}/books`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Horizon', author: 'H', price: 1, stock: 1_000_000 }),
    })
    expect(response.status).toBe(201)
    bookId = ((await response.json()) as { id: string }).id
    admin = rig.kafka.admin()
    await admin.connect()
  }, 300_000)
  afterAll(async () => {
    await admin?.disconnect()
    await rig?.stop()
  }, 120_000)

  const order = async (n = 1) => {
    for (let i = 0; i < n; i++) {
      const response = await fetch(`${rig.apiUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
        body: JSON.stringify({ customerId: crypto.randomUUID(), bookId, quantity: 1 }),
      })
      expect(response.status).toBe(201)
      placed += 1
    }
  }
  const unitsSold = async () =>
    (
      await rig.sql<{ units: number }[]>`select units_sold as units from catalogue where book_id = ${bookId}`
    )[0]?.units ?? 0
  /** Every order placed is applied, exactly once. */
  const allAppliedOnce = async () => {
    await expect.poll(unitsSold, { timeout: 120_000, interval: 250 }).toBeGreaterThanOrEqual(placed)
    expect(await unitsSold()).toBe(placed)
  }
  const inboxIds = async () =>
    new Set(
      (await rig.sql<{ id: string }[]>`select event_id::text as id from consumed_events`).map((r) => r.id),
    )
  const redeliveries = async () =>
    (await rig.sql<{ n: number }[]>`select coalesce(sum(redeliveries), 0)::int as n from consumed_events`)[0]
      ?.n ?? 0
  const untilPruned = (ids: Set<string>) =>
    expect
      .poll(async () => [...(await inboxIds())].filter((id) => ids.has(id)).length, {
        timeout: 180_000,
        interval: 1000,
      })
      .toBe(0)
  const groupEmpty = () =>
    expect
      .poll(async () => (await admin.describeGroups([group])).groups[0]?.members.length ?? 0, {
        timeout: 60_000,
        interval: 500,
      })
      .toBe(0)

  /**
   * The group has a member consuming again. Records live 5 s here: one written while the group
   * waits out a killed member's session (30 s) would leave the topic unread, which is retention at
   * work, not a lost event, so the test writes only once someone consumes.
   */
  const consuming = () =>
    expect
      .poll(
        async () => {
          const [g] = (await admin.describeGroups([group])).groups
          return g?.state === 'Stable' && g.members.length > 0
        },
        { timeout: 120_000, interval: 500 },
      )
      .toBe(true)

  it('prunes rows once their records have left the topics, keeping the horizon', {
    timeout: 300_000,
  }, async () => {
    await order(50)
    await allAppliedOnce()
    const applied = await inboxIds()
    await untilPruned(applied)
    const horizon = await readInboxHorizon(rig.sql, 'consumed_events', horizonTable)
    expect(horizon.map((h) => h.topic)).toContain(topicFor('order', rig.connectorEnv.TOPIC_NAMESPACE))
    await allAppliedOnce()
  })

  it('a consumer SIGKILLed and restarted applies nothing again', { timeout: 300_000 }, async () => {
    await rig.kill('consumer-1')
    await rig.restart('consumer-1')
    await consuming()
    await order(1)
    await allAppliedOnce()
  })

  it('Connect SIGKILLed before it recorded what it sent, and down past both retentions, re-sends: the rows it re-sends are still there', {
    timeout: 600_000,
  }, async () => {
    let resent = 0
    for (let attempt = 1; attempt <= connectKillTries && resent === 0; attempt++) {
      const before = await redeliveries()
      await order(20)
      await expect.poll(unitsSold, { timeout: 60_000, interval: 50 }).toBe(placed)
      await rig.kill('connect')
      // Down longer than the topics' retention and the inbox's together: the originals leave the
      // topic, and only Connect's unread position keeps their rows.
      await new Promise((resolve) => setTimeout(resolve, 45_000))
      await rig.restart('connect')
      await expect.poll(() => rig.connectorHealthy(), { timeout: 120_000, interval: 1000 }).toBe(true)
      await order(1)
      await allAppliedOnce()
      resent = (await redeliveries()) - before
      console.log(`[horizon] Connect kill ${attempt}: ${resent} record(s) re-sent and skipped`)
    }
    expect(resent, 'Connect never re-sent: every kill came after its position was recorded').toBeGreaterThan(
      0,
    )
    await allAppliedOnce()
  })

  it('a replay to the beginning re-reads only what is still kept, and applies nothing again', {
    timeout: 300_000,
  }, async () => {
    await order(10)
    await allAppliedOnce()
    await rig.kill('consumer-1', 'SIGTERM')
    await groupEmpty()
    const horizon = await readInboxHorizon(rig.sql, 'consumed_events', horizonTable)
    const { moved, belowHorizon } = await replayGroup(
      rig.kafka,
      group,
      rig.connectorEnv.TOPIC_NAMESPACE,
      { kind: 'beginning' },
      { horizon },
    )
    expect(moved.length).toBeGreaterThan(0)
    expect(belowHorizon).toEqual([])
    await rig.restart('consumer-1')
    await consuming()
    await order(1)
    await allAppliedOnce()
  })

  it('a redrive of a letter whose event was applied through another copy applies nothing again', {
    timeout: 300_000,
  }, async () => {
    // An OrderPlaced this group applied, and another group sharing the dead-letter topic failed on
    // afterwards: its letter is written after the row. (A letter written before, as when this group
    // dead-lettered one copy and applied another Connect sent again, is kept alike.)
    const event = orderPlaced({
      id: crypto.randomUUID(),
      customerId: crypto.randomUUID(),
      bookId,
      quantity: 1,
      total: 1,
      status: 'placed',
      createdAt: new Date().toISOString(),
      warehouseCapacity: null,
    })
    const record = {
      key: Buffer.from(event.aggregateId),
      value: Buffer.from(JSON.stringify(event.payload)),
      headers: { id: Buffer.from(event.id), event_type: Buffer.from(event.eventType) },
      timestamp: String(Date.now()),
      offset: '0',
      attributes: 0,
    }
    const producer = rig.kafka.producer()
    await producer.connect()
    try {
      const letter = deadLetterMessage(
        toIncoming(topicFor('order', rig.connectorEnv.TOPIC_NAMESPACE), 0, record as never),
        {
          code: 'HANDLER_FAILED',
          message: 'a failure since fixed',
          attempts: 6,
        },
      )
      await producer.send({
        topic: topicFor('order', rig.connectorEnv.TOPIC_NAMESPACE),
        acks: -1,
        messages: [
          { key: record.key, value: record.value, headers: record.headers, timestamp: record.timestamp },
        ],
      })
      placed += 1
      await allAppliedOnce()
      const [row] = await rig.sql<{ topic: string; partition: number }[]>`
        select topic, partition from consumed_events where event_id = ${event.id}`
      expect(row).toBeDefined()
      // A neighbour on the same partition, after it and named by no letter: once the pruner has
      // deleted its row, it has been past the lettered row too, and had to keep it.
      const neighbour = orderPlaced({
        id: crypto.randomUUID(),
        customerId: crypto.randomUUID(),
        bookId,
        quantity: 1,
        total: 1,
        status: 'placed',
        createdAt: new Date().toISOString(),
        warehouseCapacity: null,
      })
      await producer.send({
        topic: row?.topic ?? '',
        acks: -1,
        messages: [
          {
            partition: row?.partition ?? 0,
            key: Buffer.from(neighbour.aggregateId),
            value: Buffer.from(JSON.stringify(neighbour.payload)),
            headers: { id: Buffer.from(neighbour.id), event_type: Buffer.from(neighbour.eventType) },
          },
        ],
      })
      placed += 1
      await allAppliedOnce()
      await producer.send({
        topic: deadLetterTopic(rig.connectorEnv.TOPIC_NAMESPACE),
        acks: -1,
        messages: [letter],
      })
      // Both records leave the topic; the pruner deletes the neighbour's row and keeps the one the
      // letter still in the dead-letter topic names.
      await expect
        .poll(async () => (await inboxIds()).has(neighbour.id), { timeout: 180_000, interval: 1000 })
        .toBe(false)
      expect(await inboxIds()).toContain(event.id)

      const sent = await redriveDeadLetters(
        rig.kafka,
        deadLetterTopic(rig.connectorEnv.TOPIC_NAMESPACE),
        redriveGroupOf(group),
        {
          dryRun: false,
          onLetter: () => {},
        },
      )
      expect(sent).toBe(1)
      await expect
        .poll(
          async () =>
            (
              await rig.sql<
                { n: number }[]
              >`select redeliveries as n from consumed_events where event_id = ${event.id}`
            )[0]?.n,
          { timeout: 60_000, interval: 500 },
        )
        .toBe(1)
      await allAppliedOnce()
    } finally {
      await producer.disconnect()
    }
  })
})
