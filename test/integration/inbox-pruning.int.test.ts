import {
  committedSourceTime,
  createConnectClient,
  type Logger,
  readInboxHorizon,
  replayGroup,
  silentLogger,
  startInboxPruner,
} from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createLogger } from '../../lib/logger.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/**
 * The pruner on the real pipeline (API → Postgres → Debezium → Kafka → consumer): rows go only
 * once no path can bring their events back. Kafka's retention is stood in for by deleting the
 * records (what retention does, without waiting for the broker's retention check).
 */
describe('inbox pruning on the real pipeline', () => {
  let p: Pipeline
  beforeAll(async () => {
    // A row goes once Connect has recorded a later transaction as sent, which on a quiet outbox is
    // the next heartbeat: every second here, not every ten, so each test waits one, not ten.
    p = await startPipeline(stack, { connector: { CONNECTOR_HEARTBEAT_INTERVAL_MS: '1000' } })
  })
  afterAll(async () => {
    await p?.stop()
  })

  const sql = () => p.database.db.$client
  const bookTopic = () => `${p.namespace}.book`
  const addBooks = async (n: number) => {
    const ids: string[] = []
    for (let i = 0; i < n; i++) {
      const response = await p.app.inject({
        method: 'POST',
        url: '/books',
        payload: { title: `Prune ${i}`, author: 'P', price: 1, stock: 1 },
      })
      expect(response.statusCode).toBe(201)
      ids.push((response.json() as { id: string }).id)
    }
    return ids
  }
  const appliedRows = async (ids: string[]) =>
    (
      await sql()<{ n: number }[]>`
        select count(*)::int as n from catalogue where book_id = any(${ids}::uuid[])`
    )[0]?.n
  const inboxRows = async () =>
    (await sql()<{ n: number }[]>`select count(*)::int as n from consumed_events`)[0]?.n
  const dropRecords = async (topic: string) => {
    const ends = await p.admin.fetchTopicOffsets(topic)
    await p.admin.deleteTopicRecords({
      topic,
      partitions: ends.map((e) => ({ partition: e.partition, offset: e.high })),
    })
  }
  const pruner = (over: Partial<Parameters<typeof startInboxPruner>[0]> = {}) =>
    startInboxPruner({
      sql: sql(),
      kafka: p.kafka,
      admin: p.admin,
      groupId: `consumer-${p.id}`,
      inbox: 'consumed_events',
      deadLetterTopic: `${p.namespace}-dlq`,
      topics: () => p.consumer?.topics.reading ?? [],
      log: createLogger('it-pruner', 'silent'),
      connect: p.connect,
      connectorName: p.connectorEnv.CONNECTOR_NAME,
      retentionMs: 0,
      marginMs: 0,
      intervalMs: 3_600_000,
      ...over,
    })

  it("reads Connect's committed position as the commit time of the last transaction it recorded as sent", async () => {
    const before = Date.now()
    await addBooks(1)
    await expect
      .poll(async () => (await committedSourceTime(p.connect, p.connectorEnv.CONNECTOR_NAME)) ?? 0, {
        timeout: 60_000,
        interval: 500,
      })
      .toBeGreaterThanOrEqual(before - 1000)
  })

  it('deletes applied rows only once their records have left the topic, and raises the horizon', async () => {
    const ids = await addBooks(5)
    await expect.poll(() => appliedRows(ids), { timeout: 60_000 }).toBe(5)
    const rows = await inboxRows()
    const pr = pruner()
    try {
      // Every record is still in the topic: a restart or a replay could read it again.
      await expect
        .poll(async () => (await pr.runOnce()).heldBy, { timeout: 45_000, interval: 500 })
        .toBeNull()
      expect(await inboxRows()).toBe(rows)

      await dropRecords(bookTopic())
      await expect
        .poll(async () => (await pr.runOnce()).pruned, { timeout: 60_000, interval: 500 })
        .toBeGreaterThanOrEqual(rows ?? 0)
      expect(await inboxRows()).toBe(0)
      const ends = await p.admin.fetchTopicOffsets(bookTopic())
      const horizon = await readInboxHorizon(sql(), 'consumed_events', 'outbox_cdc_inbox_horizon')
      expect(horizon.length).toBeGreaterThan(0)
      for (const h of horizon) {
        expect(h.topic).toBe(bookTopic())
        expect(h.belowOffset).toBeLessThanOrEqual(
          BigInt(ends.find((e) => e.partition === h.partition)?.low ?? -1),
        )
      }
      // What was applied stays applied: only the record of it went.
      expect(await appliedRows(ids)).toBe(5)
    } finally {
      await pr.stop()
    }
  })

  it('keeps the row of an event a dead letter names, even one written after the event was applied', async () => {
    const ids = await addBooks(3)
    await expect.poll(() => appliedRows(ids), { timeout: 60_000 }).toBe(3)
    const [named] = await sql()<{ id: string }[]>`
      select event_id::text as id from consumed_events where event_type = 'BookAdded' order by consumed_at desc limit 1`
    // Another group sharing the dead-letter topic failed on the same event, after this one applied it.
    const producer = p.kafka.producer()
    await producer.connect()
    await producer.send({
      topic: `${p.namespace}-dlq`,
      acks: -1,
      messages: [{ key: 'k', value: '{}', headers: { 'dlq.event.id': named?.id ?? '' } }],
    })
    await producer.disconnect()
    await dropRecords(bookTopic())
    const pr = pruner()
    try {
      await expect
        .poll(
          async () => {
            await pr.runOnce()
            return inboxRows()
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBe(1)
      const [left] = await sql()<{ id: string }[]>`select event_id::text as id from consumed_events`
      expect(left?.id).toBe(named?.id)

      // The letter leaves the topic (its retention): nothing holds the row any more.
      await dropRecords(`${p.namespace}-dlq`)
      await expect
        .poll(
          async () => {
            await pr.runOnce()
            return inboxRows()
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBe(0)
    } finally {
      await pr.stop()
    }
  })

  it('deletes nothing while Connect cannot be read, and says why once, not every round', async () => {
    const ids = await addBooks(2)
    await expect.poll(() => appliedRows(ids), { timeout: 60_000 }).toBe(2)
    await dropRecords(bookTopic())
    const rows = await inboxRows()
    expect(rows).toBeGreaterThan(0)
    const said: string[] = []
    const log: Logger = {
      ...silentLogger,
      info: (fields, message) => said.push(`${message}: ${JSON.stringify(fields)}`),
    }
    const blind = pruner({ connect: createConnectClient('http://127.0.0.1:9', 2000), log })
    try {
      for (let round = 0; round < 3; round++)
        expect((await blind.runOnce()).heldBy).toMatch(/Connect's position for .* cannot be read/)
      expect(await inboxRows()).toBe(rows)
      expect(said).toHaveLength(1)
      expect(said[0]).toMatch(/^inbox pruning held: .*cannot be read/)
    } finally {
      await blind.stop()
    }
    // The same rows go once Connect answers: they were held by Connect alone.
    const seeing = pruner()
    try {
      await expect
        .poll(
          async () => {
            await seeing.runOnce()
            return inboxRows()
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBe(0)
    } finally {
      await seeing.stop()
    }
  })

  it('refuses a replay below the horizon and moves nothing; with force it moves and names what may be applied again', async () => {
    const ids = await addBooks(2)
    await expect.poll(() => appliedRows(ids), { timeout: 60_000 }).toBe(2)
    await p.consumer?.stop()
    const groupId = `consumer-${p.id}`
    const committed = async () =>
      (await p.admin.fetchOffsets({ groupId, topics: [bookTopic()] }))[0]?.partitions
        .map((x) => `${x.partition}:${x.offset}`)
        .sort()
    const before = await committed()
    const ends = await p.admin.fetchTopicOffsets(bookTopic())
    // A horizon above what the topic still holds: rows forgotten by other means than this pruner.
    const held = ends.filter((e) => BigInt(e.high) > BigInt(e.low))
    expect(held.length).toBeGreaterThan(0)
    const horizon = ends.map((e) => ({
      topic: bookTopic(),
      partition: e.partition,
      belowOffset: BigInt(e.high),
      prunedBefore: new Date('2026-12-01T00:00:00Z'),
    }))
    await expect(
      replayGroup(p.kafka, groupId, p.namespace, { kind: 'beginning' }, { horizon }),
    ).rejects.toMatchObject({
      code: 'REPLAY_REFUSED',
      message: expect.stringMatching(/pruned up to 2026-12-01T00:00:00\.000Z.*below its horizon.*--force/),
    })
    expect(await committed()).toEqual(before)

    const forced = await replayGroup(
      p.kafka,
      groupId,
      p.namespace,
      { kind: 'beginning' },
      { horizon, force: true },
    )
    expect(forced.belowHorizon.map((b) => b.partition).sort()).toEqual(held.map((e) => e.partition).sort())
    expect(await committed()).toEqual(ends.map((e) => `${e.partition}:${e.low}`).sort())

    // The topic made again (its offsets start over): a horizon past its end is the old topic's.
    const stale = horizon.map((h) => ({ ...h, belowOffset: 1_000_000n }))
    const again = await replayGroup(p.kafka, groupId, p.namespace, { kind: 'beginning' }, { horizon: stale })
    expect(again.belowHorizon).toEqual([])
  })
})
