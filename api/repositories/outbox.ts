import { appendEvent, drizzleExecutor } from 'outbox-cdc'
import type { Tx } from '../../db/client.ts'
import type { OutboxEvent } from '../../lib/events.ts'

/**
 * Appends `event` to the API's outbox with the toolkit's one append, inside the transaction that
 * changes the rows the event describes: the event exists if and only if the change committed.
 * `occurredAt` is the time written on those rows, so an event and its row carry one instant.
 */
export async function appendOutboxEvent(
  tx: Tx,
  event: OutboxEvent,
  options: { occurredAt: Date; traceparent?: string | undefined },
): Promise<void> {
  await appendEvent(drizzleExecutor(tx), 'outbox', event, options)
}
