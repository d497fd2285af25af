import type postgres from 'postgres'
import { bookstoreEvents, type EventType } from '../lib/events.ts'

export interface WrittenEvent {
  eventType: string
  aggregateType: string
  aggregateId: string
}

/** The event the API should have written for `aggregateId`, as the reader returns it. */
export const writtenEvent = (eventType: EventType, aggregateId: string): WrittenEvent => ({
  eventType,
  aggregateType: bookstoreEvents.definitionOf(eventType).aggregate,
  aggregateId,
})

export interface OutboxEventReader {
  /** Every event committed since the previous call, each returned once (the slot moves on). */
  take(): Promise<WrittenEvent[]>
  /** Drops the slot. */
  close(): Promise<void>
}

const field = (data: string, name: string) =>
  new RegExp(`\\b${name}\\[text\\]:'([^']*)'`).exec(data)?.[1] ?? ''

/**
 * Reads the events that committed transactions appended to the outbox, from the WAL itself (the
 * outbox table is always empty by design), through a test_decoding slot of the caller's own on
 * the caller's own test database. `sql` must be allowed to create replication slots.
 */
export async function openOutboxEventReader(sql: postgres.Sql, slot: string): Promise<OutboxEventReader> {
  await sql`select pg_create_logical_replication_slot(${slot}, 'test_decoding')`
  return {
    async take(): Promise<WrittenEvent[]> {
      const rows = await sql<{ data: string }[]>`
        select data from pg_logical_slot_get_changes(${slot}, null, null, 'skip-empty-xacts', '1')
        where data like 'table public.outbox: INSERT:%'`
      return rows.map(({ data }) => ({
        eventType: field(data, 'event_type'),
        aggregateType: field(data, 'aggregate_type'),
        aggregateId: field(data, 'aggregate_id'),
      }))
    },
    async close() {
      await sql`select pg_drop_replication_slot(${slot})`
    },
  }
}
