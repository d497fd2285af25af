import type { KafkaMessage } from 'kafkajs'
import type { EventRegistry } from '../events/define.ts'
import { ConsumerError } from './errors.ts'

/** A Kafka record with the coordinates the inbox keeps. */
export interface IncomingEvent {
  topic: string
  partition: number
  offset: string
  key: string | null
  headers: Record<string, string | undefined>
  value: string | null
  /** The record timestamp in ms since the epoch: when the event was written to the outbox. */
  timestamp?: string
  /** The record's key, value and headers as bytes, for a dead letter that keeps them unchanged. */
  raw?: Pick<KafkaMessage, 'key' | 'value' | 'headers'>
}

/** An event whose headers and payload passed its registry's checks. */
export interface ParsedEvent {
  id: string
  eventType: string
  payload: unknown
  /** The W3C traceparent of the work that wrote it, when the record carried a well-formed one. */
  traceparent?: string
}

const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/** The record kafkajs delivered, with its headers decoded as text and its bytes kept beside them. */
export function toIncoming(topic: string, partition: number, message: KafkaMessage): IncomingEvent {
  const headers: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    headers[name] = Array.isArray(value) ? value[0]?.toString() : value?.toString()
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? null,
    headers,
    value: message.value?.toString() ?? null,
    timestamp: message.timestamp,
    raw: { key: message.key, value: message.value, headers: message.headers },
  }
}

/**
 * Reads and validates the event in a record against `registry` (its type known, its payload
 * passing the type's schema); throws a non-retryable ConsumerError if it cannot.
 */
export function parseEvent(message: IncomingEvent, registry: EventRegistry): ParsedEvent {
  // One spelling per event id (lower case, as Postgres prints a uuid), or a redelivery in upper
  // case would look like a new event to the inbox's duplicate check.
  const id = message.headers.id?.toLowerCase()
  const eventType = message.headers.event_type
  if (!id || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
    throw new ConsumerError('MISSING_HEADER', 'the id header is missing or not a uuid')
  if (!eventType) throw new ConsumerError('MISSING_HEADER', 'the event_type header is missing')
  if (!registry.isEventType(eventType))
    throw new ConsumerError('UNKNOWN_EVENT_TYPE', `no handler for event type ${eventType}`)
  let json: unknown
  try {
    json = JSON.parse(message.value ?? '')
  } catch (cause) {
    throw new ConsumerError('INVALID_JSON', 'the record value is not JSON', { cause })
  }
  const parsed = registry.definitionOf(eventType).payload.safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`,
    )
    throw new ConsumerError('INVALID_PAYLOAD', `${eventType} payload is invalid: ${problems.join('; ')}`)
  }
  // Tracing is context, never a reason to refuse an event: a malformed traceparent is dropped.
  const traceparent = message.headers.traceparent
  return {
    id,
    eventType,
    payload: parsed.data,
    ...(traceparent && traceparentPattern.test(traceparent) ? { traceparent } : {}),
  }
}
