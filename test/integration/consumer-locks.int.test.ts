import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { saleRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { applyBatch } from '../order-side.ts'

/**
 * One advisory lock per distinct read-model key, held to commit: a batch of CONSUMER_BATCH_SIZE
 * (up to 5000, allowed by config) orders for distinct books takes 5000 entries of the server's
 * shared lock table (max_locks_per_transaction × backends, ~6-8k by default). The default three
 * partitions at once exhaust it: "out of shared memory" (53200, transient), every batch rolls back
 * and falls back to one record at a time, and any other session needing a lock meanwhile fails too.
 */
describe('advisory locks per key', () => {
  const fixture = useConsumerFixture('locks', { poolMax: 4, kafka: false })

  it('three partitions applying 5000-record batches of distinct books at once all commit', async () => {
    const raw = postgres(fixture.db.url, { max: 1, onnotice: () => {} })
    const [s] =
      await raw`select current_setting('max_locks_per_transaction') as l, current_setting('max_connections') as c`
    await raw.end()
    const batches = [0, 1, 2].map(() =>
      Array.from({ length: 5000 }, (_, i) =>
        saleRecord(crypto.randomUUID(), { topic: 'it.locks.order', offset: String(i) }),
      ),
    )
    const results = await Promise.allSettled(batches.map((b) => applyBatch(fixture.database.db, b)))
    const errors = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))
    // The server's lock table is what runs out: its size, for the reader of a failure.
    expect(errors, `max_locks_per_transaction ${s?.l}, max_connections ${s?.c}`).toEqual([])
  })
})
