import { appendEvent, postgresJsExecutor } from 'outbox-cdc'
import type { OutboxEvent } from '../lib/events.ts'
import type { Sql, TxGuard } from './catalogue.ts'

/**
 * Appends `event` to an outbox table from inside a consumer's batch transaction, with the
 * toolkit's one append (the API's too), every statement carrying the batch's transaction guard
 * (see catalogue.ts). The order service's consumer writes `outbox`, fulfilment `fulfilment_outbox`.
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
  traceparent?: string,
): Promise<void> {
  await appendEvent(postgresJsExecutor(sql, { txGuard: tx }), table, event, { occurredAt, traceparent })
}
