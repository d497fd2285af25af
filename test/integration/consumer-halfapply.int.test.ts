import { commitBatch, type InboxEntry } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { orderSide } from '../../consumer/handlers.ts'
import { collectUncaught, saleRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { applyBatch, applyEvent, applyInTransaction, parseEvent } from '../order-side.ts'

/**
 * The batch transaction's backend dies while the transaction is idle between two
 * statements (a GC pause, CPU starvation, idle_in_transaction_session_timeout, a failover), and
 * another partition's query meanwhile makes the pool reconnect that connection object. postgres.js
 * 3.4.9 (porsager/postgres#1208, #1215/#1216) then sends the rest of the transaction's statements
 * on the NEW session, outside any transaction: the read model changes, the inbox row (in the dead
 * transaction) is gone, and the one-by-one fallback applies the event a second time.
 * The pause is made deterministic by wrapping a handler; nothing else is changed.
 */
describe('a batch transaction whose connection dies between statements', () => {
  const fixture = useConsumerFixture('halfapply', {
    poolMax: 1,
    applicationName: 'it-consumer',
    kafka: false,
    killsBackends: true,
  })
  let admin: postgres.Sql
  // Shown with a failure: what postgres.js threw outside any promise after the kill.
  const uncaught = collectUncaught()
  beforeAll(async () => {
    admin = postgres(fixture.db.url, {
      max: 1,
      onnotice: () => {},
      connection: { application_name: 'it-admin' },
    })
  })
  afterAll(async () => {
    await admin?.end()
  })

  it('never leaves the read model changed without its inbox row', { timeout: 150_000 }, async () => {
    const bookId = crypto.randomUUID()
    const record = saleRecord(bookId)
    const original = orderSide.handlers.OrderPlaced
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let paused: () => void = () => {}
    const reached = new Promise<void>((resolve) => {
      paused = resolve
    })
    // Every OrderPlaced handler waits at the gate; the counts tell how far the two batches got.
    let entered = 0
    let finished = 0
    orderSide.handlers.OrderPlaced = async (sql, tx, payloads, events) => {
      entered += 1
      paused()
      await gate
      try {
        return await original?.(sql, tx, payloads, events)
      } finally {
        finished += 1
      }
    }
    const soon = { timeout: 10_000, interval: 20 }
    try {
      let settled = 'pending'
      const batch = applyBatch(fixture.database.db, [record]).then(
        () => (settled = 'committed'),
        (error: unknown) => (settled = `rejected: ${String(error)}`),
      )
      await reached
      // The transaction is idle between its lock statement and the catalogue upsert: kill it.
      // Its own database's only: consumer-apply's pool has the same application_name, and a file
      // running at the same time lost its connections to this (ECONNRESET in CI).
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'it-consumer' and datname = current_database()`
      // postgres.js ends begin() as soon as it sees the connection close.
      await vi.waitFor(() => expect(settled, 'the batch to see its connection die').not.toBe('pending'), soon)
      // Another partition's work on the same pool meanwhile (a batch for another book): the pool
      // reconnects the dead connection for it, and it stops at the same gate, inside its transaction.
      const other = applyBatch(fixture.database.db, [saleRecord(crypto.randomUUID())]).then(
        (o) => o.join(),
        (error: unknown) => `rejected: ${String(error)}`,
      )
      await vi.waitFor(() => expect(entered, 'the other batch at the gate').toBe(2), soon)
      // The pause ends: the first handler's upsert is sent on whatever the connection now is.
      release()
      const outcome = await batch
      const otherOutcome = await other
      await vi.waitFor(() => expect(finished, 'both handlers done').toBe(2), soon)
      const [state] = await admin`select
        (select coalesce(sum(units_sold), 0)::int from catalogue where book_id = ${bookId}) as units,
        (select count(*)::int from consumed_events where event_id = ${record.headers.id as string}) as inbox`
      // The consumer's fallback then applies the record on its own (handle-batch.ts): in all, the
      // event must count once. Here the upsert committed outside the dead transaction, the inbox
      // row did not, and the fallback applies it again: units 2.
      if (outcome !== 'committed') await applyEvent(fixture.database.db, record)
      const [after] =
        await admin`select coalesce(sum(units_sold), 0)::int as units from catalogue where book_id = ${bookId}`
      const seen = { state, outcome, other: otherOutcome, uncaught: uncaught.all() }
      expect(after?.units, `after the kill: ${JSON.stringify(seen)}`).toBe(1)
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
    const record = saleRecord(bookId)
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
    const unchecked = await fixture.database.db.$client.begin(strayRollback)
    expect(unchecked.applied.size).toBe(1)
    expect(await stored()).toEqual({ units: 0, inbox: 0 })
    // With it, the batch fails as retryable, and the retry applies the event once.
    await expect(commitBatch(fixture.database.db.$client, strayRollback)).rejects.toMatchObject({
      code: 'CONNECTION_REPLACED',
      retryable: true,
    })
    expect(await stored()).toEqual({ units: 0, inbox: 0 })
    expect(await applyEvent(fixture.database.db, record)).toBe('applied')
    expect(await stored()).toEqual({ units: 1, inbox: 1 })
  })
})
