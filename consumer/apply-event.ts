import type { Db } from '../db/client.ts'
import type { EventType } from '../lib/events.ts'
import type { Sql } from './catalogue.ts'
import { type BatchHandler, batchHandlers, readModelKey } from './handlers.ts'
import { type IncomingEvent, type ParsedEvent, parseEvent } from './incoming-event.ts'

export type ApplyOutcome = 'applied' | 'duplicate'

/**
 * Records a batch's events in the inbox and returns the ids recorded for the first time. One
 * prepared statement over arrays, whatever the batch size. An id seen before, or again later in
 * the same batch (Connect re-sends after a crash), counts as a redelivery; `xmax = 0` is true only
 * for a freshly inserted row, which tells the two apart in one statement.
 */
async function recordInInbox(
  sql: Sql,
  events: ParsedEvent[],
  messages: IncomingEvent[],
): Promise<Set<string>> {
  const first = new Map<string, { index: number; repeats: number }>()
  events.forEach((event, index) => {
    const seen = first.get(event.id)
    if (seen) seen.repeats += 1
    else first.set(event.id, { index, repeats: 0 })
  })
  const rows = [...first.values()]
  const message = (i: number) => messages[i] as IncomingEvent
  const recorded = await sql<{ event_id: string }[]>`
    with recorded as (
      insert into consumed_events as c
        (event_id, event_type, topic, partition, kafka_offset, occurred_at, redeliveries)
      select * from unnest(
        ${sql.array(rows.map((r) => (events[r.index] as ParsedEvent).id))}::uuid[],
        ${sql.array(rows.map((r) => (events[r.index] as ParsedEvent).eventType))}::text[],
        ${sql.array(rows.map((r) => message(r.index).topic))}::text[],
        ${sql.array(rows.map((r) => message(r.index).partition))}::int[],
        ${sql.array(rows.map((r) => message(r.index).offset))}::bigint[],
        ${sql.array(rows.map((r) => occurredAt(message(r.index))))}::timestamptz[],
        ${sql.array(rows.map((r) => r.repeats))}::int[])
      on conflict (event_id) do update set redeliveries = c.redeliveries + excluded.redeliveries + 1
      returning event_id, (xmax = 0) as fresh)
    select event_id from recorded where fresh`
  return new Set(recorded.map((row) => row.event_id))
}

/** The record timestamp (the outbox row's created_at) as ISO text; null when the record has none. */
const occurredAt = (message: IncomingEvent) =>
  message.timestamp ? new Date(Number(message.timestamp)).toISOString() : null

/**
 * Applies consecutive records of one partition in one transaction: one inbox statement for all
 * of them, then one statement per event type for that type's new events. Committing once per
 * batch instead of once per event, and writing in a few statements instead of one per event, is
 * what lets the consumer keep up with the connector.
 * All or nothing: a record that cannot be parsed, a handler that throws, or any database error
 * rejects the whole batch and changes nothing; the caller then takes the records one by one
 * (applyEvent), where each failure gets its own retries or dead letter.
 * It runs on Drizzle's postgres.js client directly (the consumer's hot path: see catalogue.ts).
 */
export async function applyBatch(db: Db, messages: IncomingEvent[]): Promise<ApplyOutcome[]> {
  const events = messages.map(parseEvent)
  const fresh = await db.$client.begin(async (sql) => {
    const recorded = await recordInInbox(sql, events, messages)
    const toApply = events.filter((event) => recorded.delete(event.id))
    const keys = toApply.map((event) =>
      (readModelKey[event.eventType] as (payload: unknown) => string)(event.payload),
    )
    // Advisory locks on every row key, taken in one sorted pass before any row is touched: two
    // batches sharing keys then queue instead of deadlocking. (Volatile functions in the select
    // list run after the ORDER BY.)
    if (keys.length > 0)
      await sql`select pg_advisory_xact_lock(h) from (select distinct hashtext(k) as h from unnest(${sql.array(keys)}::text[]) as k) s order by h`
    // Each type's handler sees its events in partition order. Read-model writes only add or set
    // their own columns (see catalogue.ts), so grouping by type gives the same result.
    const byType = new Map<EventType, unknown[]>()
    for (const event of toApply) {
      const payloads = byType.get(event.eventType)
      if (payloads) payloads.push(event.payload)
      else byType.set(event.eventType, [event.payload])
    }
    for (const [eventType, payloads] of byType)
      await (batchHandlers[eventType] as BatchHandler<EventType>)(sql, payloads as never)
    return new Set(toApply)
  })
  return events.map((event) => (fresh.has(event) ? 'applied' : 'duplicate'))
}

/**
 * Applies one event exactly once in effect: the inbox row and the read-model change commit in
 * one transaction, and an event id the inbox already holds is skipped. The caller commits the
 * Kafka offset only after this returns.
 */
export async function applyEvent(db: Db, message: IncomingEvent): Promise<ApplyOutcome> {
  return (await applyBatch(db, [message]))[0] as ApplyOutcome
}
