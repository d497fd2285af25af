import type { OutboxEvent } from '../lib/events.ts'
import type { Sql, TxGuard } from './catalogue.ts'

/**
 * Appends `event` to an outbox table from inside a consumer's batch transaction: what the API's
 * appendOutboxEvent does (inserted, then deleted at once: Debezium reads the insert from the WAL),
 * on the raw client and with every statement carrying the batch's transaction guard (see
 * catalogue.ts). The order service's consumer writes `outbox`, fulfilment `fulfilment_outbox`.
 * `occurredAt` is the time stamped on the row the event describes (`cancelled_at`, a shipment's
 * `created_at`): the event carries that same instant, so a reader comparing writes with applied
 * events (the doctor's freshness) compares one clock with itself.
 */
export async function appendOutboxRow(
  sql: Sql,
  tx: TxGuard,
  table: 'outbox' | 'fulfilment_outbox',
  event: OutboxEvent,
  occurredAt: string,
): Promise<void> {
  await sql`
    insert into ${sql(table)} (id, aggregate_type, aggregate_id, event_type, payload, created_at)
    select ${event.id}::uuid, ${event.aggregateType}::text, ${event.aggregateId}::text, ${event.eventType}::text,
           ${JSON.stringify(event.payload)}::jsonb, (${occurredAt}::timestamptz at time zone 'utc')
    where txid_current() = ${tx}::bigint`
  await sql`delete from ${sql(table)} where id = ${event.id} and txid_current() = ${tx}::bigint`
}
