import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { listSlots } from '../../connector/slots.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'
import { createTestDatabase } from '../support.ts'

const stack = inject('stack')

/**
 * A quiet outbox must not pin WAL that the rest of the cluster writes. With a heartbeat, the slot's
 * retained WAL stays under what the cluster writes in (heartbeat interval + 15 s + slack): Postgres
 * moves a logical slot's restart_lsn only at a running-transactions record, which it logs every
 * 15 s. Without one, the slot keeps every byte written since the outbox's last event.
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
    const retained = async (slot: string) =>
      (await listSlots(admin)).find((s) => s.slotName === slot)?.retainedBytes ?? 0
    const startLsn = await lsn()
    const started = Date.now()
    const samples: { atS: number; beat: number; none: number }[] = []
    while (Date.now() - started < churnMs) {
      // Another database churns; the outboxes of both pipelines stay idle.
      await churn`insert into churn (filler) select repeat('x', 1000) from generate_series(1, 1000)`
      samples.push({
        atS: (Date.now() - started) / 1000,
        beat: await retained(withBeat.connectorEnv.CONNECTOR_SLOT_NAME),
        none: await retained(without.connectorEnv.CONNECTOR_SLOT_NAME),
      })
      await delay(500)
    }
    await churn.end()
    const [written] = await admin<
      { bytes: number }[]
    >`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${startLsn}::pg_lsn)::float8 as bytes`
    const bytesPerS = (written?.bytes ?? 0) / (churnMs / 1000)
    const bound = bytesPerS * (heartbeatMs / 1000 + 15 + 5)
    console.log(`cluster wrote ${(bytesPerS / 1e6).toFixed(2)} MB/s; bound ${(bound / 1e6).toFixed(1)} MB`)

    // After the first running-transactions cycle, the heartbeat slot never exceeds the bound…
    const settled = samples.filter((s) => s.atS > 20)
    expect(settled.length).toBeGreaterThan(5)
    expect(Math.max(...settled.map((s) => s.beat))).toBeLessThan(bound)
    // …while the other slot holds (nearly) all that was written, and more than the bound.
    const last = samples.at(-1)
    expect(last?.none).toBeGreaterThan((written?.bytes ?? 0) * 0.9)
    expect(last?.none).toBeGreaterThan(bound)
  })
})
