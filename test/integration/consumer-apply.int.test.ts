import type { IncomingEvent } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Book, bookAdded, bookRemoved } from '../../lib/events.ts'
import { collectUncaught, incomingRecord, saleRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { applyBatch, applyEvent } from '../order-side.ts'

/** The batched apply path (apply-event.ts, catalogue.ts) under input meant to break it. */

// One clock for every record: the tests read occurred_at back.
const timestamp = String(Date.parse('2026-11-23T10:00:00.000Z'))
let offsets = 0
const record = (
  topic: string,
  event: { id: string; eventType: string; aggregateId: string; payload: unknown },
  extra: Partial<IncomingEvent> = {},
) => incomingRecord(topic, event, { offset: String(offsets++), timestamp, ...extra })
const book = (overrides: Partial<Book> = {}): Book => ({
  id: crypto.randomUUID(),
  title: 'T',
  author: 'A',
  price: 2,
  stock: 1,
  createdAt: '2026-11-23T10:00:00.000Z',
  updatedAt: '2026-11-23T10:00:00.000Z',
  removedAt: null,
  ...overrides,
})
const added = (b: Book, extra: Partial<IncomingEvent> = {}) => record('it.book', bookAdded(b), extra)
const removed = (b: Book, at: string) => record('it.book', bookRemoved({ ...b, removedAt: at }))
const sale = (bookId: string, quantity = 1, total = 2, extra: Partial<IncomingEvent> = {}) =>
  saleRecord(bookId, { topic: 'it.order', quantity, total, offset: String(offsets++), timestamp, ...extra })
const withId = (r: IncomingEvent, id: string, offset = String(offsets++)): IncomingEvent => ({
  ...r,
  offset,
  headers: { ...r.headers, id },
})

describe('batched apply under hostile input', () => {
  const fixture = useConsumerFixture('apply', {
    poolMax: 4,
    applicationName: 'it-consumer',
    kafka: false,
    killsBackends: true,
  })
  let raw: postgres.Sql
  const row = async (bookId: string) =>
    (
      await raw`select title, author, price_cents, units_sold, revenue_cents::text as revenue,
                       removed_at is not null as removed from catalogue where book_id = ${bookId}`
    )[0]
  const inbox = async (eventId: string) =>
    (
      await raw`select redeliveries, occurred_at::text as occurred from consumed_events where event_id = ${eventId}`
    )[0]

  // The kill test below tells postgres.js's own throws from anything of ours.
  const uncaught = collectUncaught()
  beforeAll(async () => {
    raw = postgres(fixture.db.url, { max: 2, onnotice: () => {} })
  })
  afterAll(async () => {
    // The kill test ends its other connection too: do not wait on it.
    await raw?.end({ timeout: 1 })
  })

  // ---- Promise 1: the inbox key is a uuid, so case (or hyphen placement) is not identity ----
  it('an event redelivered with its id in upper case is a duplicate, not applied again', async () => {
    const b = book()
    const first = sale(b.id)
    expect(await applyBatch(fixture.database.db, [first])).toEqual(['applied'])
    const again = withId(first, (first.headers.id as string).toUpperCase())
    expect(await applyBatch(fixture.database.db, [again])).toEqual(['duplicate'])
    expect((await row(b.id))?.units_sold).toBe(1)
  })

  it('the same event in upper and lower case inside one batch is applied once (no fallback error)', async () => {
    const b = book()
    const first = sale(b.id)
    const again = withId(first, (first.headers.id as string).toUpperCase())
    expect(await applyBatch(fixture.database.db, [first, again])).toEqual(['applied', 'duplicate'])
    expect((await row(b.id))?.units_sold).toBe(1)
  })

  it('one record at a time (the fallback path) applies an upper-case repeat only once', async () => {
    const b = book()
    const first = sale(b.id)
    await applyEvent(fixture.database.db, first)
    await applyEvent(fixture.database.db, withId(first, (first.headers.id as string).toUpperCase()))
    expect((await row(b.id))?.units_sold).toBe(1)
  })

  it('an event redelivered with its id hyphenated differently (the same uuid to Postgres) is refused, never applied again', async () => {
    const b = book()
    const first = sale(b.id)
    const hex = (first.headers.id as string).replaceAll('-', '')
    const odd = `${hex.slice(0, 4)}-${hex.slice(4, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16)}`
    expect(odd).toHaveLength(36)
    expect(await applyBatch(fixture.database.db, [first])).toEqual(['applied'])
    await expect(applyBatch(fixture.database.db, [withId(first, odd)])).rejects.toMatchObject({
      code: 'MISSING_HEADER',
    })
    expect((await row(b.id))?.units_sold).toBe(1)
  })

  // ---- Promise 3: lock keys are the payload text, rows are uuids ----
  it('concurrent batches naming the same books in different case neither deadlock nor fall back', async () => {
    const books = Array.from({ length: 200 }, () => crypto.randomUUID())
    for (let round = 0; round < 5; round += 1) {
      const forward = books.map((id) => sale(id))
      const backward = [...books].reverse().map((id) => sale(id.toUpperCase()))
      const results = await Promise.allSettled([
        applyBatch(fixture.database.db, forward),
        applyBatch(fixture.database.db, backward),
      ])
      expect(results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))).toEqual([])
    }
  })

  it('one batch selling a book under both spellings of its id applies in one go', async () => {
    const b = book()
    expect(await applyBatch(fixture.database.db, [sale(b.id), sale(b.id.toUpperCase())])).toEqual([
      'applied',
      'applied',
    ])
    expect((await row(b.id))?.units_sold).toBe(2)
  })

  // ---- postgres.js array literal serialization of nasty but valid text ----
  it('stores titles and authors exactly, whatever array-literal syntax they contain', async () => {
    const nasty = [
      'NULL',
      'null',
      '{',
      '}',
      '{}',
      '"',
      '\\',
      '\\"',
      'a,b',
      '{"a","b"}',
      '',
      ' ',
      ' padded ',
      '\\N',
      'NULL,NULL',
      "O'Brien",
      'tab\there',
      'new\nline',
      '日本語 📚 ﷽',
      'x'.repeat(300_000),
      '{NULL}',
      '"NULL"',
      'ARRAY[1]',
      '$1',
      ';',
    ]
    const books = nasty.map((title, i) => book({ title, author: nasty[nasty.length - 1 - i] as string }))
    expect(
      await applyBatch(
        fixture.database.db,
        books.map((b) => added(b)),
      ),
    ).toEqual(books.map(() => 'applied'))
    for (const b of books) {
      const r = await row(b.id)
      expect(r?.title).toBe(b.title)
      expect(r?.author).toBe(b.author)
    }
    // A single NULL-like title as the only element.
    const lone = book({ title: 'NULL' })
    await applyBatch(fixture.database.db, [added(lone)])
    expect((await row(lone.id))?.title).toBe('NULL')
  })

  // ---- record timestamps ----
  it('a record without a timestamp, or with 0, is applied (occurred_at null or epoch)', async () => {
    const none = sale(book().id, 1, 2, { timestamp: undefined })
    const zero = sale(book().id, 1, 2, { timestamp: '0' })
    expect(await applyBatch(fixture.database.db, [none, zero])).toEqual(['applied', 'applied'])
    expect((await inbox(none.headers.id as string))?.occurred).toBeNull()
  })

  it("Kafka's NO_TIMESTAMP (-1) is recorded as unknown, not as 1969-12-31T23:59:59.999Z", async () => {
    const r = sale(book().id, 1, 2, { timestamp: '-1' })
    expect(await applyBatch(fixture.database.db, [r])).toEqual(['applied'])
    expect((await inbox(r.headers.id as string))?.occurred).toBeNull()
  })

  it('a record timestamp past year 9999 does not stop a good event from being applied', async () => {
    // 253402300800000 ms = 10000-01-01T00:00:00Z: toISOString gives "+010000-01-01T00:00:00.000Z".
    const r = sale(book().id, 1, 2, { timestamp: '253402300800000' })
    expect(await applyEvent(fixture.database.db, r)).toBe('applied')
  })

  it('a record timestamp beyond the JS Date range does not stop a good event from being applied', async () => {
    // 9e15 ms > 8.64e15: new Date(...).toISOString() throws RangeError before any SQL runs, and the
    // one-by-one path retries it, then dead-letters a perfectly good event as HANDLER_FAILED.
    const r = sale(book().id, 1, 2, { timestamp: '9000000000000000' })
    expect(await applyEvent(fixture.database.db, r)).toBe('applied')
  })

  // ---- offsets, money, quantities ----
  it('keeps offsets near 2^63 exactly and sums 0.1 + 0.2 style totals in cents', async () => {
    const b = book()
    const a = sale(b.id, 1, 0.1, { offset: '9223372036854775806' })
    const c = sale(b.id, 1, 0.2, { offset: '9223372036854775807' })
    expect(await applyBatch(fixture.database.db, [a, c])).toEqual(['applied', 'applied'])
    expect(await row(b.id)).toMatchObject({ units_sold: 2, revenue: '30' })
    const [o] =
      await raw`select kafka_offset::text as o from consumed_events where event_id = ${c.headers.id as string}`
    expect(o?.o).toBe('9223372036854775807')
  })

  it('a quantity past int4 rejects the batch as a whole and changes nothing (it is then dead-lettered alone)', async () => {
    const b = book()
    const ok = sale(b.id)
    const huge = sale(b.id, 2 ** 31)
    await expect(applyBatch(fixture.database.db, [ok, huge])).rejects.toThrow()
    expect(await row(b.id)).toBeUndefined()
    expect(await inbox(ok.headers.id as string)).toBeUndefined()
    // Two orders each within int4 whose sum is not: same as per record (second fails alone).
    const big = book()
    await expect(
      applyBatch(fixture.database.db, [sale(big.id, 2 ** 30), sale(big.id, 2 ** 30)]),
    ).rejects.toThrow()
    expect(await row(big.id)).toBeUndefined()
  })

  // ---- several events of one book in one batch, any order across topics ----
  it('gives one batch the same read model as one event at a time, whatever the interleaving', async () => {
    const b = book({ title: 'v1' })
    const events = [
      sale(b.id, 2, 5),
      removed({ ...b, title: 'v2' }, '2026-11-24T10:00:00.000Z'),
      added(b),
      sale(b.id, 3, 7.5),
      added({ ...b, title: 'v2', price: 3 }),
    ]
    expect(await applyBatch(fixture.database.db, events)).toEqual(events.map(() => 'applied'))
    const batched = await row(b.id)
    const c = { ...b, id: crypto.randomUUID() }
    for (const e of [
      sale(c.id, 2, 5),
      removed({ ...c, title: 'v2' }, '2026-11-24T10:00:00.000Z'),
      added(c),
      sale(c.id, 3, 7.5),
      added({ ...c, title: 'v2', price: 3 }),
    ])
      await applyEvent(fixture.database.db, e)
    expect(await row(c.id)).toEqual(batched)
    expect(batched).toMatchObject({
      title: 'v2',
      price_cents: 300,
      units_sold: 5,
      revenue: '1250',
      removed: true,
    })
  })

  it('an all-duplicates batch of 5000 changes nothing and counts each redelivery', async () => {
    const b = book()
    const events = Array.from({ length: 5000 }, () => sale(b.id))
    expect((await applyBatch(fixture.database.db, events)).every((o) => o === 'applied')).toBe(true)
    const again = events.map((e) => ({ ...e, offset: String(offsets++) }))
    expect((await applyBatch(fixture.database.db, again)).every((o) => o === 'duplicate')).toBe(true)
    expect((await row(b.id))?.units_sold).toBe(5000)
    const [r] =
      await raw`select sum(redeliveries)::int as n from consumed_events where event_id = any(${raw.array(events.map((e) => e.headers.id as string))}::uuid[])`
    expect(r?.n).toBe(5000)
  })

  // ---- a transaction killed mid-way ----
  it('a batch whose backend is terminated mid-transaction leaves nothing behind, and the pool recovers', async () => {
    const b = book()
    const events = [added(b), sale(b.id), sale(b.id)]
    // Hold the advisory lock the batch will wait on (after its inbox insert; the order side's key
    // space is its inbox's name hashed), then kill it there.
    const blocker = await raw.reserve()
    await blocker`begin`
    await blocker`select pg_advisory_xact_lock(hashtext('"consumed_events"'), hashtext(${b.id}) & 1023)`
    const pending = applyBatch(fixture.database.db, events)
    const [held] = await blocker`select pg_backend_pid() as p`
    // The batch's backend, once it waits on that lock.
    const pid = await vi.waitFor(
      async () => {
        const [w] =
          await raw`select pid from pg_stat_activity where wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%' and datname = current_database() and pid <> ${held?.p}`
        expect(w?.pid).toBeDefined()
        return w?.pid as number
      },
      { timeout: 5000, interval: 50 },
    )
    await raw`select pg_terminate_backend(${pid})`
    await expect(pending).rejects.toThrow()
    await blocker`rollback`
    blocker.release()
    expect(await row(b.id)).toBeUndefined()
    for (const e of events) expect(await inbox(e.headers.id as string)).toBeUndefined()
    // Every connection of the pool under test killed between batches (a database restart, as
    // the pool sees it). Only its own: killing the test's other connection too (the one the blocker
    // used, idle in raw's pool) left raw a dead socket, and its next query failed ECONNRESET in CI.
    await raw`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'it-consumer'`
    await vi.waitFor(
      async () => {
        const [left] =
          await raw`select count(*)::int as n from pg_stat_activity where application_name = 'it-consumer' and datname = current_database()`
        expect(left?.n).toBe(0)
      },
      { timeout: 10_000, interval: 20 },
    )
    // The pool learns that an idle connection died only when it next writes on it: the first
    // batch may fail on it (ECONNRESET, CONNECTION_CLOSED), as a transient error the consumer
    // retries. The pool recovers when the batch, tried again, gets a live connection.
    const applyRetried = async (tries: number): Promise<string[]> => {
      try {
        return await applyBatch(fixture.database.db, events)
      } catch (error) {
        const code = (error as { code?: string }).code ?? ''
        if (tries > 1 && /ECONNRESET|CONNECTION_CLOSED|CONNECTION_ENDED|EPIPE/.test(code))
          return applyRetried(tries - 1)
        throw error
      }
    }
    expect(await applyRetried(3)).toEqual(['applied', 'applied', 'applied'])
    expect((await row(b.id))?.units_sold).toBe(2)
    expect(uncaught.ours()).toEqual([])
  })
})
