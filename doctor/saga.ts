import { type DoctorCheck, finding } from 'outbox-cdc'
import type { BookstoreTargets } from './config.ts'

/**
 * The saga end to end (with fulfilment in the pipeline): an order still `placed` after
 * `staleAfterS` means fulfilment's answer has not come back. The usual causes: fulfilment is not
 * running, or the connector does not capture `fulfilment_outbox` (registered before the table
 * existed), in which case its shipment events were dropped and never reach Kafka.
 */
/**
 * Orders placed more than $1 seconds ago and still placed. Read through orders_placed_created_at_idx
 * (migration 0011), which holds the placed orders alone: the console runs it every few seconds.
 */
export const stuckOrdersSql = `
  select count(*)::int as stuck, min(created_at) as oldest from orders
  where status = 'placed' and created_at < now() - make_interval(secs => $1)`

export const sagaCheck: DoctorCheck<BookstoreTargets> = {
  name: 'saga.orders',
  hintWhenUnreachable: 'is Postgres up?',
  async run({ sql, connect }, t) {
    if (!t.fulfilmentGroup) return []
    const config = await connect.getConfig(t.connectorName).catch(() => undefined)
    const tables = (config?.['table.include.list'] ?? '').split(',').map((name) => name.trim())
    const capture =
      config && !tables.includes('public.fulfilment_outbox')
        ? [
            finding(
              'saga.capture',
              'fail',
              `${t.connectorName} does not capture public.fulfilment_outbox: shipment events are dropped before Kafka`,
              'npm run connector:register (then see docs/events-and-saga.md on orders left placed)',
            ),
          ]
        : []
    const [row] = await sql.unsafe<{ stuck: number; oldest: Date | null }[]>(stuckOrdersSql, [t.staleAfterS])
    const stuck = row?.stuck ?? 0
    const orders =
      stuck > 0
        ? finding(
            'saga.orders',
            'fail',
            `${stuck} order(s) placed more than ${t.staleAfterS} s ago are neither fulfilled nor cancelled (oldest ${row?.oldest?.toISOString?.() ?? row?.oldest})`,
            'is fulfilment running (npm run fulfilment)? its lag above; npm run connector:diff',
            { stuck },
          )
        : finding(
            'saga.orders',
            'ok',
            `no order waits longer than ${t.staleAfterS} s for fulfilment`,
            undefined,
            {
              stuck,
            },
          )
    return [...capture, orders]
  },
}
