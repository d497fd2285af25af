import { afterEach, describe, expect, it, vi } from 'vitest'
import { orderSide } from '../../consumer/handlers.ts'
import { fulfilmentApp } from '../../fulfilment/handlers.ts'
import type { PayloadOf } from '../../lib/events.ts'
import { useConsumerFixture } from '../consumer-fixture.ts'

/**
 * The time of an event a consumer writes (fulfilment's shipment events, the order service's
 * OrderCancelled) is the outbox row's `created_at`, which the EventRouter makes the Kafka record's
 * timestamp; the broker refuses a record more than `log.message.timestamp.after.max.ms` (1 h)
 * ahead of its own clock, which fails the connector for every service. So the time comes from the
 * database, never from the consumer's own clock: here that clock runs two hours ahead.
 */
describe('the time of an event a consumer writes', () => {
  const fixture = useConsumerFixture('event-clock', { poolMax: 2 })
  afterEach(() => {
    vi.useRealTimers()
  })

  /**
   * An outbox row is deleted as soon as it is inserted (Debezium reads the insert from the WAL);
   * in this test's own database the rows of `table` are kept, to be read back.
   */
  const keepOutboxRows = (table: 'outbox' | 'fulfilment_outbox') =>
    fixture.database.db.$client.unsafe(`
      create or replace function keep_outbox_row() returns trigger language plpgsql as $$ begin return null; end $$;
      create or replace trigger keep_outbox_row before delete on ${table}
        for each row execute function keep_outbox_row();`)

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
    await keepOutboxRows('fulfilment_outbox')
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

  it("stamps OrderCancelled with the database's clock, on the order, its event and the outbox row, whatever the order service's clock says", async () => {
    const sql = fixture.database.db.$client
    await keepOutboxRows('outbox')
    const placed = order()
    await sql`
      insert into books (id, title, author, price_cents, stock, created_at, updated_at)
      values (${placed.bookId}, 'Clock', 'C', 250, 0, now(), now())`
    await sql`
      insert into orders (id, customer_id, book_id, quantity, total_cents, status, created_at)
      values (${placed.id}, ${placed.customerId}, ${placed.bookId}, 1, 250, 'placed', now())`
    const failed: PayloadOf<'ShipmentFailed'> = {
      orderId: placed.id,
      bookId: placed.bookId,
      quantity: 1,
      status: 'failed',
      reason: 'over capacity',
      createdAt: '2026-11-23T10:00:00.000Z',
    }
    const processNow = Date.now() + 2 * 3600_000
    vi.useFakeTimers({ toFake: ['Date'], now: processNow })
    await sql.begin(async (tx) => {
      const [first] = await tx<{ tx: string }[]>`select txid_current()::text as tx`
      await orderSide.handlers.ShipmentFailed?.(tx, first?.tx ?? '', [failed], [{ id: crypto.randomUUID() }])
    })
    vi.useRealTimers()

    const [row] = await sql<{ order: string; row: string; event: string; dbNow: string }[]>`
      select to_char(r.cancelled_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as order,
             to_char(o.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as row,
             o.payload->>'cancelledAt' as event,
             to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "dbNow"
      from orders r join outbox o on o.aggregate_id = r.id::text and o.event_type = 'OrderCancelled'
      where r.id = ${placed.id}`
    expect(row).toBeDefined()
    if (!row) return
    expect({ row: row.row, event: row.event }).toEqual({ row: row.order, event: row.order })
    const stamped = Date.parse(row.order)
    expect(stamped).toBeLessThanOrEqual(Date.parse(row.dbNow))
    expect(Date.parse(row.dbNow) - stamped).toBeLessThan(60_000)
    expect(processNow - stamped).toBeGreaterThan(3600_000)
  })
})
