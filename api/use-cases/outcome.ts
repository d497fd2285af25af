import type { OutboxEvent } from '../../lib/events.ts'

/**
 * What a use case that writes returns: the response it answers with and the events it appended
 * to the outbox in its committed transaction (none for an idempotent replay), which the API's
 * `outbox_events_written_total` counts.
 */
export interface Outcome<Body = unknown> {
  statusCode: number
  body: Body
  events: OutboxEvent[]
}
