import { eq, sql } from 'drizzle-orm'
import type { Tx } from '../../db/client.ts'
import { outbox } from '../../db/schema.ts'
import type { OutboxEvent } from '../../lib/events.ts'

/** `created_at` as the outbox stores it: UTC wall time without zone (the EventRouter rejects timestamptz). */
export const outboxTimestamp = (at: Date = new Date()) => at.toISOString().replace('T', ' ').replace('Z', '')

/**
 * Appends `event` to the outbox. Must be called inside the transaction that changes the domain
 * rows the event describes: then the event exists if and only if the change committed.
 *
 * The row is deleted again in the same transaction. Debezium reads the insert from the WAL, not
 * the table, so the event still reaches Kafka (the publication publishes inserts only), and the
 * table never grows: there is nothing for a cleanup job to race with while the connector lags.
 */
export async function appendOutboxEvent(tx: Tx, event: OutboxEvent, traceContext?: string): Promise<void> {
  await tx
    .insert(outbox)
    .values({
      id: sql.placeholder('id'),
      aggregateType: sql.placeholder('aggregateType'),
      aggregateId: sql.placeholder('aggregateId'),
      eventType: sql.placeholder('eventType'),
      payload: sql.placeholder('payload'),
      createdAt: sql.placeholder('createdAt'),
      traceContext: sql.placeholder('traceContext'),
    })
    .prepare('append_outbox_event')
    .execute({
      id: event.id,
      aggregateType: event.aggregateType,
      aggregateId: event.aggregateId,
      eventType: event.eventType,
      payload: event.payload,
      createdAt: outboxTimestamp(),
      traceContext: traceContext ?? null,
    })
  await tx
    .delete(outbox)
    .where(eq(outbox.id, sql.placeholder('id')))
    .prepare('delete_outbox_event')
    .execute({ id: event.id })
}
