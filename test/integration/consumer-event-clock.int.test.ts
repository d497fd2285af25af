import { afterEach, describe, expect, it, vi } from 'vitest'
import { fulfilmentApp } from '../../fulfilment/handlers.ts'
import type { PayloadOf } from '../../lib/events.ts'
import { useConsumerFixture } from '../consumer-fixture.ts'

/**
 * A shipment event's time is the outbox row's `created_at`, which the EventRouter makes the Kafka
 * record's timestamp; the broker refuses a record more than `log.message.timestamp.after.max.ms`
 * (1 h) ahead of its own clock, which fails the connector for every service. So the time comes
 * from the database, never from fulfilment's own clock: here that clock runs two hours ahead.
 */
describe("fulfilment's shipment time", () => {
  const fixture = useConsumerFixture('fulfilment-clock', { poolMax: 2 })
  afterEach(() => {
    vi.useRealTimers()
  })

  const order = (): PayloadOf<'OrderPlaced'> => ({
    id: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    bookId: crypto.randomUUID(),
    quantity: 1,
    total: 2.5,
    status: 'placed',
    createdAt: '2026-11-23T10:00:00.000Z',
    warehouseCapacity: null,
  })

  it("is the database's transaction time, on the shipment, its event and the outbox row, whatever fulfilment's clock says", async () => {
    const sql = fixture.database.db.$client
    // The outbox row is deleted as soon as it is inserted (Debezium reads the insert from the
    // WAL); in this test's own database it is kept, to be read back.
    await sql.unsafe(`
      create or replace function keep_outbox_row() returns trigger language plpgsql as $$ begin return null; end $$;
      create or replace trigger keep_outbox_row before delete on fulfilment_outbox
        for each row execute function keep_outbox_row();`)
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * 3600_000 })
    const orders = [order(), order()]
    const transactionNow = await sql.begin(async (tx) => {
      const [first] = await tx<{ tx: string; now: string }[]>`
        select txid_current()::text as tx,
               to_char(now() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as now`
      await fulfilmentApp.handlers.OrderPlaced?.(
        tx,
        first?.tx ?? '',
        orders,
        orders.map((o) => ({ id: o.id })),
      )
      return first?.now
    })
    vi.useRealTimers()

    const ids = orders.map((o) => o.id)
    const rows = await sql<{ shipment: string; row: string; event: string }[]>`
      select to_char(s.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as shipment,
             to_char(o.created_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as row,
             o.payload->>'createdAt' as event
      from shipments s join fulfilment_outbox o on o.aggregate_id = s.order_id::text
      where s.order_id = any(${ids}::uuid[])`
    expect(rows).toHaveLength(2)
    for (const r of rows)
      expect(r).toEqual({ shipment: transactionNow, row: transactionNow, event: transactionNow })
  })
})
