import { sql } from 'drizzle-orm'
import type { Db, Tx } from '../db/client.ts'
import { consumedEvents } from '../db/schema.ts'
import type { EventType } from '../lib/events.ts'
import { type BatchHandler, batchHandlers, type Handler, handlers, readModelKey } from './handlers.ts'
import { type IncomingEvent, type ParsedEvent, parseEvent } from './incoming-event.ts'

const inboxRow = (event: ParsedEvent, message: IncomingEvent) => ({
  eventId: event.id,
  eventType: event.eventType,
  topic: message.topic,
  partition: message.partition,
  kafkaOffset: BigInt(message.offset),
  occurredAt: message.timestamp ? new Date(Number(message.timestamp)) : null,
})

/**
 * Records events in the inbox and returns the ids recorded for the first time. A redelivery bumps
 * a counter instead; `xmax = 0` is true only for a freshly inserted row, which tells the two apart
 * in one statement.
 */
async function recordInInbox(tx: Tx, rows: ReturnType<typeof inboxRow>[]): Promise<Set<string>> {
  const recorded = await tx
    .insert(consumedEvents)
    .values(rows)
    .onConflictDoUpdate({
      target: consumedEvents.eventId,
      set: { redeliveries: sql`${consumedEvents.redeliveries} + 1` },
    })
    .returning({ eventId: consumedEvents.eventId, inserted: sql<boolean>`(xmax = 0)` })
  return new Set(recorded.filter((row) => row.inserted).map((row) => row.eventId))
}

/**
 * Applies consecutive records of one partition in one transaction: one inbox statement for all
 * of them, then one handler call per event type with that type's new events. Committing once
 * per batch instead of once per event, and writing the read model in a few statements instead
 * of one per event, is what lets the consumer keep up with the connector.
 * All or nothing: a record that cannot be parsed, a handler that throws, or any database error
 * rejects the whole batch and changes nothing, and the caller then takes the records one by one
 * (applyEvent), where each failure gets its own retries or dead letter.
 */
export async function applyBatch(db: Db, messages: IncomingEvent[]): Promise<Array<'applied' | 'duplicate'>> {
  const events = messages.map(parseEvent)
  return db.transaction(async (tx) => {
    const fresh = await recordInInbox(
      tx as Tx,
      events.map((event, i) => inboxRow(event, messages[i] as IncomingEvent)),
    )
    const toApply = events.filter((event) => fresh.has(event.id))
    const keys = toApply.map((event) =>
      (readModelKey[event.eventType] as (payload: unknown) => string)(event.payload),
    )
    // Advisory locks on every row key, taken in one sorted pass before any row is touched: two
    // batches sharing keys then queue instead of deadlocking. (Volatile functions in the select
    // list run after the ORDER BY.)
    if (keys.length > 0)
      await tx.execute(
        sql`select pg_advisory_xact_lock(h) from (select distinct hashtext(k) as h from unnest(${sql.param(keys)}::text[]) as k) s order by h`,
      )
    // Each type's handler sees its events in partition order. Read-model writes only add or set
    // their own columns (see catalogue.ts), so grouping by type gives the same result.
    const byType = new Map<EventType, unknown[]>()
    for (const event of toApply)
      byType.set(event.eventType, [...(byType.get(event.eventType) ?? []), event.payload])
    for (const [eventType, payloads] of byType)
      await (batchHandlers[eventType] as BatchHandler<EventType>)(tx as Tx, payloads as never)
    return events.map((event) => (fresh.has(event.id) ? 'applied' : 'duplicate'))
  })
}

/**
 * Applies one event exactly once in effect: the inbox row and the read-model change commit in
 * one transaction, and an event id the inbox already holds is skipped. The caller commits the
 * Kafka offset only after this returns.
 */
export async function applyEvent(db: Db, message: IncomingEvent): Promise<'applied' | 'duplicate'> {
  const event = parseEvent(message)
  return db.transaction(async (tx) => {
    if (!(await recordInInbox(tx as Tx, [inboxRow(event, message)])).has(event.id)) return 'duplicate'
    await (handlers[event.eventType] as Handler<EventType>)(tx as Tx, event.payload as never)
    return 'applied'
  })
}
