import { sql } from 'drizzle-orm'
import type { Db, Tx } from '../db/client.ts'
import { consumedEvents } from '../db/schema.ts'
import { type EventType, eventCatalogue, isEventType } from '../lib/events.ts'
import { ConsumerError } from './errors.ts'
import { type Handler, handlers } from './handlers.ts'

/** A Kafka record with the coordinates the inbox keeps. */
export interface IncomingEvent {
  topic: string
  partition: number
  offset: string
  key: string | null
  headers: Record<string, string | undefined>
  value: string | null
}

export interface ParsedEvent {
  id: string
  eventType: EventType
  payload: unknown
}

/** Reads and validates the event in a record; throws a non-retryable ConsumerError if it cannot. */
export function parseEvent(message: IncomingEvent): ParsedEvent {
  const id = message.headers.id
  const eventType = message.headers.event_type
  if (!id || !/^[0-9a-f-]{36}$/i.test(id))
    throw new ConsumerError('MISSING_HEADER', 'the id header is missing or not a uuid')
  if (!eventType) throw new ConsumerError('MISSING_HEADER', 'the event_type header is missing')
  if (!isEventType(eventType))
    throw new ConsumerError('UNKNOWN_EVENT_TYPE', `no handler for event type ${eventType}`)
  let json: unknown
  try {
    json = JSON.parse(message.value ?? '')
  } catch (cause) {
    throw new ConsumerError('INVALID_JSON', 'the record value is not JSON', { cause })
  }
  const parsed = eventCatalogue[eventType].payload.safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`,
    )
    throw new ConsumerError('INVALID_PAYLOAD', `${eventType} payload is invalid: ${problems.join('; ')}`)
  }
  return { id, eventType, payload: parsed.data }
}

/**
 * Applies one event exactly once in effect: the inbox row and the read-model change commit in
 * one transaction, and an event id the inbox already holds is skipped. The caller commits the
 * Kafka offset only after this returns.
 */
export async function applyEvent(db: Db, message: IncomingEvent): Promise<'applied' | 'duplicate'> {
  const event = parseEvent(message)
  return db.transaction(async (tx) => {
    const recorded = await tx
      .insert(consumedEvents)
      .values({
        eventId: event.id,
        eventType: event.eventType,
        topic: message.topic,
        partition: message.partition,
        kafkaOffset: BigInt(message.offset),
      })
      // A redelivery bumps a counter instead of applying again; `xmax = 0` is true only for a
      // freshly inserted row, which tells the two apart in one statement.
      .onConflictDoUpdate({
        target: consumedEvents.eventId,
        set: { redeliveries: sql`${consumedEvents.redeliveries} + 1` },
      })
      .returning({ inserted: sql<boolean>`(xmax = 0)` })
    if (!recorded[0]?.inserted) return 'duplicate'
    await (handlers[event.eventType] as Handler<EventType>)(tx as Tx, event.payload as never)
    return 'applied'
  })
}
