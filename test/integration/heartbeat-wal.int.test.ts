import { setTimeout as delay } from 'node:timers/promises'
import { listSlots } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type Pipeline, startPipeline } from '../pipeline.ts'
import { createTestDatabase } from '../support.ts'

const stack = inject('stack')

/**
 * A quiet outbox must not pin WAL that the rest of the cluster writes. With a heartbeat, the slot's
 * confirmed position trails the WAL by at most what is written in (heartbeat interval + 10 s), and
 * its retained WAL stays under what is written in (heartbeat interval + 2 × 15 s + 10 s): Postgres
 * moves a logical slot's restart_lsn only to a candidate taken at a running-transactions record
 * (logged every 15 s), once the confirmed position has passed it. Without a heartbeat, both grow
 * with every byte written since the outbox's last event.
 */
describe('bounded WAL on a quiet outbox', () => {
  const heartbeatMs = 1000
  const churnMs = 35_000
  let withBeat: Pipeline
  let without: Pipeline
  let churnDb: Awaited<ReturnType<typeof createTestDatabase>>
  let admin: postgres.Sql

  beforeAll(async () => {
    withBeat = await startPipeline(stack, {
      consumer: false,
      connector: { CONNECTOR_HEARTBEAT_INTERVAL_MS: String(heartbeatMs) },
    })
    without = await startPipeline(stack, {
      consumer: false,
      connector: { CONNECTOR_HEARTBEAT_INTERVAL_MS: '0' },
    })
    churnDb = await createTestDatabase(stack.postgres.adminUrl, 'it_churn')
    admin = postgres(stack.postgres.adminUrl, { max: 1, onnotice: () => {} })
  })
  afterAll(async () => {
    await admin?.end()
    await churnDb?.drop()
    await withBeat?.stop()
    await without?.stop()
  })

  it('keeps the slot under the bound with the heartbeat, while without it the slot keeps everything', {
    timeout: 120_000,
  }, async () => {
    const churn = postgres(churnDb.url, { max: 1, onnotice: () => {} })
    await churn`create table churn (id serial, filler text)`
    const lsn = async () =>
      (await admin<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`)[0]?.lsn ?? '0/0'
    const state = async (slot: string) => {
      const found = (await listSlots(admin)).find((s) => s.slotName === slot)
      const [lag] = await admin<{ bytes: number }[]>`
        select pg_wal_lsn_diff(pg_current_wal_lsn(), ${found?.confirmedFlushLsn ?? '0/0'}::pg_lsn)::float8 as bytes`
      return { retained: found?.retainedBytes ?? 0, flushLag: lag?.bytes ?? 0 }
    }
    const startLsn = await lsn()
    const started = Date.now()
    const samples: {
      atS: number
      beat: { retained: number; flushLag: number }
      none: { retained: number; flushLag: number }
    }[] = []
    while (Date.now() - started < churnMs) {
      // Another database churns; the outboxes of both pipelines stay idle.
      await churn`insert into churn (filler) select repeat('x', 1000) from generate_series(1, 1000)`
      samples.push({
        atS: (Date.now() - started) / 1000,
        beat: await state(withBeat.connectorEnv.CONNECTOR_SLOT_NAME),
        none: await state(without.connectorEnv.CONNECTOR_SLOT_NAME),
      })
      await delay(500)
    }
    await churn.end()
    const [written] = await admin<
      { bytes: number }[]
    >`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${startLsn}::pg_lsn)::float8 as bytes`
    const bytesPerS = (written?.bytes ?? 0) / (churnMs / 1000)
    const heartbeatS = heartbeatMs / 1000
    const flushBound = bytesPerS * (heartbeatS + 10)
    const retainedBound = bytesPerS * (heartbeatS + 2 * 15 + 10)
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`
    console.log(
      `cluster wrote ${mb(bytesPerS)}/s; bounds: confirmed lag ${mb(flushBound)}, retained ${mb(retainedBound)}`,
    )

    // With the heartbeat: the confirmed position keeps up, and retention stays under its bound…
    const settled = samples.filter((s) => s.atS > 10)
    expect(settled.length).toBeGreaterThan(5)
    expect(Math.max(...settled.map((s) => s.beat.flushLag))).toBeLessThan(flushBound)
    expect(Math.max(...samples.map((s) => s.beat.retained))).toBeLessThan(retainedBound)
    // …without it, both hold (nearly) everything written: far past the confirmed-lag bound.
    const last = samples.at(-1)
    expect(last?.none.retained).toBeGreaterThan((written?.bytes ?? 0) * 0.9)
    expect(last?.none.flushLag).toBeGreaterThan((written?.bytes ?? 0) * 0.9)
    expect(last?.none.flushLag).toBeGreaterThan(2 * flushBound)
  })
})
