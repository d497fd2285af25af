import postgres from 'postgres'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { z } from 'zod'
import { createTestDatabase, type TestDatabase } from '../../../test/support.ts'
import { applyBatch, defineInboxApp } from '../consumer/apply-event.ts'
import type { IncomingEvent } from '../consumer/incoming-event.ts'
import { defineEvent, defineEvents } from '../events/define.ts'
import { schemaSql } from '../schema/sql.ts'
import { pruneBatch, readInboxHorizon, readInboxSize } from './prune-sql.ts'

/* Pruning on a real Postgres: which rows go, what the horizon says, and how it shares the table. */
const stack = inject('stack')
const registry = defineEvents(
  [
    defineEvent({
      type: 'Noted',
      aggregate: 'note',
      payload: z.object({ id: z.string() }),
      aggregateId: (p) => p.id,
    }),
  ],
  { namespace: 'prune.events' },
)
const app = defineInboxApp({ registry, inbox: 'inbox', handlers: {} })
const topic = 'prune.events.note'

let db: TestDatabase
let sql: postgres.Sql
beforeAll(async () => {
  db = await createTestDatabase(stack.postgres.adminUrl, 'prune')
  sql = postgres(db.url, { max: 4, onnotice: () => {} })
  await sql.unsafe(
    schemaSql({ outboxes: ['outbox'], heartbeat: 'heartbeat', inboxes: ['inbox'], publication: 'prune_pub' }),
  )
})
afterAll(async () => {
  await sql?.end()
  await db?.drop()
})
beforeEach(async () => {
  await sql`truncate inbox, outbox_cdc_inbox_horizon`
})

const record = (id: string, partition: number, offset: number): IncomingEvent => ({
  topic,
  partition,
  offset: String(offset),
  key: id,
  headers: { id, event_type: 'Noted' },
  value: JSON.stringify({ id }),
  timestamp: String(Date.now()),
})
const deliver = (...records: IncomingEvent[]) => applyBatch(sql, records, app)
const lastOffsets = async () =>
  Object.fromEntries(
    (
      await sql<{ id: string; last: string | null }[]>`
        select event_id::text as id, last_offset::text as last from inbox`
    ).map((r) => [r.id, r.last]),
  )
const remaining = async () =>
  (await sql<{ id: string }[]>`select event_id::text as id from inbox order by kafka_offset`).map((r) => r.id)
const now = async () => (await sql<{ t: Date }[]>`select clock_timestamp() as t`)[0]?.t as Date

describe("an inbox row's copies", () => {
  it('move last_offset to the latest copy, and a copy on another partition keeps the row for ever', async () => {
    const [a, b] = [crypto.randomUUID(), crypto.randomUUID()]
    await deliver(record(a, 0, 5), record(b, 0, 6))
    expect(await lastOffsets()).toEqual({ [a]: null, [b]: null })
    // Connect re-sent both after a crash: later copies, one of them twice in one batch.
    expect(await deliver(record(a, 0, 9), record(b, 0, 10), record(b, 0, 12))).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
    ])
    expect(await lastOffsets()).toEqual({ [a]: '9', [b]: '12' })
    // A copy on another partition (partitions were added): no low watermark can pass it.
    await deliver(record(a, 1, 3))
    expect((await lastOffsets())[a]).toBe('9223372036854775807')
  })
})

describe('pruneBatch', () => {
  /** One partition's batch, everything allowed but what the test says. */
  const batch = (over: Partial<Parameters<typeof pruneBatch>[1]>) => ({
    inbox: 'inbox',
    topic,
    partition: 0,
    low: 100n,
    retentionMs: 0,
    connectCutoff: new Date(Date.now() + 3_600_000),
    keep: [],
    limit: 100,
    ...over,
  })

  it('deletes only rows whose every copy is below the low watermark, and raises the horizon', async () => {
    const [gone, resent, kept] = [1, 2, 3].map(() => crypto.randomUUID()) as [string, string, string]
    const other = crypto.randomUUID()
    await deliver(record(gone, 0, 5), record(resent, 0, 6), record(kept, 0, 20))
    await deliver(record(other, 1, 0))
    await deliver(record(resent, 0, 12)) // a copy at 12: still in the topic at low 10

    expect(await pruneBatch(sql, batch({ low: 10n }))).toBe(1)
    // Partition 1 was not given: its row stays whatever its age.
    expect((await remaining()).sort()).toEqual([resent, kept, other].sort())
    const [first] = await readInboxHorizon(sql, 'inbox')
    expect(first).toMatchObject({ topic, partition: 0, belowOffset: 6n })

    // Once the copy at 12 has left the topic too, the re-sent row goes, and the horizon only rises.
    await pruneBatch(sql, batch({ low: 13n }))
    expect((await remaining()).sort()).toEqual([kept, other].sort())
    expect((await readInboxHorizon(sql, 'inbox'))[0]?.belowOffset).toBe(13n)
  })

  it("keeps rows younger than the retention on the database's clock, and rows Connect's position does not cover", async () => {
    const [old, young] = [crypto.randomUUID(), crypto.randomUUID()]
    await deliver(record(old, 0, 1))
    await sql`update inbox set consumed_at = clock_timestamp() - interval '2 hours' where event_id = ${old}`
    await deliver(record(young, 0, 2))
    expect(await pruneBatch(sql, batch({ retentionMs: 3_600_000 }))).toBe(1)
    expect(await remaining()).toEqual([young])

    const boundary = await now()
    const later = crypto.randomUUID()
    await deliver(record(later, 0, 3))
    expect(await pruneBatch(sql, batch({ connectCutoff: boundary }))).toBe(1)
    expect(await remaining()).toEqual([later])
  })

  it('keeps the rows of events a dead letter still names', async () => {
    const [named, free] = [crypto.randomUUID(), crypto.randomUUID()]
    await deliver(record(named, 0, 1), record(free, 0, 2))
    expect(await pruneBatch(sql, batch({ keep: [named] }))).toBe(1)
    expect(await remaining()).toEqual([named])
  })

  it('keeps a row redelivered without last_offset (before migration 2, or by an older replica)', async () => {
    const id = crypto.randomUUID()
    await deliver(record(id, 0, 1))
    await sql`update inbox set redeliveries = 1 where event_id = ${id}`
    expect(await pruneBatch(sql, batch({}))).toBe(0)
    expect(await remaining()).toEqual([id])
  })

  it('keeps last_offset at the latest copy when an older copy is read after it', async () => {
    const id = crypto.randomUUID()
    await deliver(record(id, 0, 50))
    await deliver(record(id, 0, 10)) // a replay re-reads the older copy
    expect((await lastOffsets())[id]).toBe('50')
    expect(await pruneBatch(sql, batch({ low: 11n }))).toBe(0)
  })

  it('takes at most its limit in one transaction, lowest offsets first', async () => {
    const ids = [1, 2, 3].map(() => crypto.randomUUID())
    for (const [i, id] of ids.entries()) await deliver(record(id, 0, i))
    expect(await pruneBatch(sql, batch({ limit: 2 }))).toBe(2)
    expect(await remaining()).toEqual([ids[2]])
  })

  it('skips a row another transaction holds instead of waiting for it', async () => {
    const [held, free] = [crypto.randomUUID(), crypto.randomUUID()]
    await deliver(record(held, 0, 1), record(free, 0, 2))
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve
    })
    const holder = sql.begin(async (tx) => {
      await tx`select 1 from inbox where event_id = ${held} for update`
      locked()
      await released
    })
    await isLocked
    const deleted = await pruneBatch(sql, batch({}))
    release()
    await holder
    expect(deleted).toBe(1)
    expect(await remaining()).toEqual([held])
  })

  it("finds the horizon table beside a schema's inbox without being told", async () => {
    await sql.unsafe(
      schemaSql({
        outboxes: [{ schema: 'svc', table: 'outbox' }],
        heartbeat: { schema: 'svc', table: 'heartbeat' },
        inboxes: [{ schema: 'svc', table: 'inbox' }],
        publication: 'svc_pub',
      }),
    )
    const svc = { schema: 'svc', table: 'inbox' }
    const id = crypto.randomUUID()
    await applyBatch(sql, [record(id, 0, 1)], { ...app, inbox: svc })
    expect(await pruneBatch(sql, batch({ inbox: svc }))).toBe(1)
    expect(await readInboxHorizon(sql, svc)).toMatchObject([{ topic, partition: 0, belowOffset: 2n }])
  })
})

describe('readInboxSize', () => {
  it('gives the oldest row and an estimate that follows the table once analysed', async () => {
    const partitions = [{ topic, partition: 0 }]
    expect(await readInboxSize(sql, 'inbox', partitions)).toMatchObject({ oldestConsumedAt: null })
    const first = crypto.randomUUID()
    await deliver(record(first, 0, 1), ...[2, 3, 4].map((o) => record(crypto.randomUUID(), 0, o)))
    await sql`analyze inbox`
    const size = await readInboxSize(sql, 'inbox', partitions)
    const [oldest] = await sql<{ t: Date }[]>`select consumed_at as t from inbox where event_id = ${first}`
    expect(size).toEqual({ rowsEstimate: 4, oldestConsumedAt: oldest?.t })
  })
})
