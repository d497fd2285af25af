import { commitBatch, type InboxEntry, type IncomingEvent } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { orderSide } from '../../consumer/handlers.ts'
import { type Database, openDatabase } from '../../db/client.ts'
import { migrateDatabase } from '../../db/migrate.ts'
import { orderPlaced } from '../../lib/events.ts'
import { applyBatch, applyEvent, applyInTransaction, parseEvent } from '../order-side.ts'
import { createTestDatabase } from '../support.ts'

/**
 * Hostile review: the batch transaction's backend dies while the transaction is idle between two
 * statements (a GC pause, CPU starvation, idle_in_transaction_session_timeout, a failover), and
 * another partition's query meanwhile makes the pool reconnect that connection object. postgres.js
 * 3.4.9 (porsager/postgres#1208, #1215/#1216) then sends the rest of the transaction's statements
 * on the NEW session, outside any transaction: the read model changes, the inbox row (in the dead
 * transaction) is gone, and the one-by-one fallback applies the event a second time.
 * The pause is made deterministic by wrapping a handler; nothing else is changed.
 */
const stack = inject('stack')

const sale = (bookId: string): IncomingEvent => {
  const event = orderPlaced({
    id: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    bookId,
    quantity: 1,
    total: 2,
    status: 'placed',
    createdAt: '2026-11-23T10:00:00.000Z',
  })
  return {
    topic: 'rv.half.order',
    partition: 0,
    offset: '0',
    key: event.aggregateId,
    headers: { id: event.id, event_type: event.eventType },
    value: JSON.stringify(event.payload),
    timestamp: String(Date.now()),
  }
}

describe('review: a batch transaction whose connection dies between statements', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let database: Database
  let admin: postgres.Sql
  const uncaught: unknown[] = []
  const onUncaught = (error: unknown) => void uncaught.push(error)
  beforeAll(async () => {
    db = await createTestDatabase(stack.postgres.adminUrl, 'it_review_half')
    await migrateDatabase(db.url)
    database = openDatabase(db.url, { max: 1, applicationName: 'rv-consumer' })
    admin = postgres(db.url, { max: 1, onnotice: () => {}, connection: { application_name: 'rv-admin' } })
    process.on('uncaughtException', onUncaught)
    // postgres.js can also leave a query's CONNECTION_CLOSED rejection unhandled when a backend
    // these tests kill dies under it (the same family as porsager/postgres#1208): collected here
    // with the uncaught exceptions, and only that kind is let through below.
    process.on('unhandledRejection', onUncaught)
  })
  afterAll(async () => {
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUncaught)
    await admin?.end()
    await database?.close(1).catch(() => {})
    await db?.drop()
  })

  it('never leaves the read model changed without its inbox row', { timeout: 150_000 }, async () => {
    const t0 = Date.now()
    const log = (...args: unknown[]) => console.log(Date.now() - t0, ...args)
    const bookId = crypto.randomUUID()
    const record = sale(bookId)
    const original = orderSide.handlers.OrderPlaced
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let paused: () => void = () => {}
    const reached = new Promise<void>((resolve) => {
      paused = resolve
    })
    orderSide.handlers.OrderPlaced = async (sql, tx, payloads, events) => {
      paused()
      await gate
      return original?.(sql, tx, payloads, events)
    }
    try {
      let settled = 'pending'
      const batch = applyBatch(database.db, [record]).then(
        () => (settled = 'committed'),
        (error: unknown) => (settled = `rejected: ${String(error)}`),
      )
      await reached
      log('paused')
      // The transaction is idle between its lock statement and the catalogue upsert: kill it.
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'rv-consumer'`
      log('terminated')
      await new Promise((r) => setTimeout(r, 200))
      log('batch after kill:', settled)
      // Another partition's work on the same pool meanwhile (a batch for another book).
      const other = applyBatch(database.db, [sale(crypto.randomUUID())]).then(
        (o) => o.join(),
        (error: unknown) => `rejected: ${String(error)}`,
      )
      await new Promise((r) => setTimeout(r, 300))
      // The pause ends: the handler's upsert is sent on whatever the connection now is.
      release()
      const outcome = await batch
      log('batch', outcome)
      log('other', await other)
      await new Promise((r) => setTimeout(r, 200))
      const [state] = await admin`select
        (select coalesce(sum(units_sold), 0)::int from catalogue where book_id = ${bookId}) as units,
        (select count(*)::int from consumed_events where event_id = ${record.headers.id as string}) as inbox`
      log({ outcome, state, uncaught: uncaught.map(String) })
      // The consumer's fallback then applies the record on its own (handle-batch.ts): in all, the
      // event must count once. Here the upsert committed outside the dead transaction, the inbox
      // row did not, and the fallback applies it again: units 2.
      if (outcome !== 'committed') await applyEvent(database.db, record)
      const [after] =
        await admin`select coalesce(sum(units_sold), 0)::int as units from catalogue where book_id = ${bookId}`
      expect(after?.units, `after the kill: ${JSON.stringify(state)} (${outcome})`).toBe(1)
      // All or nothing: either both (committed) or neither (rolled back, to be redelivered).
      expect(state?.units).toBe(state?.inbox)
    } finally {
      orderSide.handlers.OrderPlaced = original
      release()
    }
  })

  it('fails a batch whose transaction another connection ended after its last check (a stray rollback)', async () => {
    // Another batch's late `rollback` (see commitBatch) landing between this batch's last check
    // and its commit: injected here as the transaction's own last statement.
    const bookId = crypto.randomUUID()
    const record = sale(bookId)
    const entry: InboxEntry = { ...record, event: parseEvent(record), occurredAt: null }
    const strayRollback = async (sql: Parameters<typeof applyInTransaction>[0]) => {
      const result = await applyInTransaction(sql, [entry])
      await sql.unsafe('rollback')
      return result
    }
    const stored = async () => {
      const [row] = await admin`select
        (select coalesce(sum(units_sold), 0)::int from catalogue where book_id = ${bookId}) as units,
        (select count(*)::int from consumed_events where event_id = ${entry.event.id}) as inbox`
      return row
    }
    // Without the check, postgres.js reports the transaction committed although nothing was stored.
    const unchecked = await database.db.$client.begin(strayRollback)
    expect(unchecked.applied.size).toBe(1)
    expect(await stored()).toEqual({ units: 0, inbox: 0 })
    // With it, the batch fails as retryable, and the retry applies the event once.
    await expect(commitBatch(database.db.$client, strayRollback)).rejects.toMatchObject({
      code: 'CONNECTION_REPLACED',
      retryable: true,
    })
    expect(await stored()).toEqual({ units: 0, inbox: 0 })
    expect(await applyEvent(database.db, record)).toBe('applied')
    expect(await stored()).toEqual({ units: 1, inbox: 1 })
  })
})
