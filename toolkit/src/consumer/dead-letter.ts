import type { IHeaders, Message, Producer } from 'kafkajs'
import type { IncomingEvent } from './incoming-event.ts'

/** Header names on a dead letter; a redrive (redriveDeadLetters) reads them to send the record home. */
export const dlqHeader = {
  topic: 'dlq.original.topic',
  partition: 'dlq.original.partition',
  offset: 'dlq.original.offset',
  /** The original record's timestamp (ms): when the event was written; a redrive stamps it back. */
  timestamp: 'dlq.original.timestamp',
  key: 'dlq.original.key',
  eventId: 'dlq.event.id',
  errorCode: 'dlq.error.code',
  errorMessage: 'dlq.error.message',
  attempts: 'dlq.attempts',
  at: 'dlq.dead-lettered.at',
  /** The consumer group that could not apply it: only that group's redrive sends it back. */
  group: 'dlq.group',
  /** On a letter parked behind another of its key: that letter's event id. */
  parkedBehind: 'dlq.parked.behind',
  /** On a copy a redrive sent back: the group it is for; other groups pass it by. */
  redrivenFor: 'dlq.redriven.for',
} as const

/**
 * The record as it arrived (key, value and headers untouched, so a redrive republishes the same
 * event) plus headers saying where it came from and why it could not be applied.
 */
export function deadLetterMessage(
  message: IncomingEvent,
  failure: { code: string; message: string; attempts: number },
  at = new Date(),
): Message {
  // The bytes as they arrived when we have them: decoding as text would replace what is not UTF-8.
  // A header whose value is null (Debezium writes the outbox's null trace_context as one) is left
  // out: kafkajs cannot send a null header, and the dead letter would never be published.
  // A redriven copy's own dlq.* headers are not the event's: the new letter states its own.
  const original: IHeaders = Object.fromEntries(
    Object.entries(message.raw?.headers ?? {}).filter(
      ([name, value]) => value !== null && value !== undefined && !name.startsWith('dlq.'),
    ),
  )
  if (!message.raw)
    for (const [name, value] of Object.entries(message.headers))
      if (value !== undefined && !name.startsWith('dlq.')) original[name] = value
  // A redriven copy that fails again keeps where the event first stood: its key's letters go back
  // in that order.
  const firstOffset =
    message.headers[dlqHeader.redrivenFor] === undefined
      ? message.offset
      : (message.headers[dlqHeader.offset] ?? message.offset)
  return {
    key: message.raw ? message.raw.key : message.key,
    value: message.raw ? message.raw.value : message.value,
    headers: {
      ...original,
      [dlqHeader.topic]: message.topic,
      [dlqHeader.partition]: String(message.partition),
      [dlqHeader.offset]: firstOffset,
      ...(message.timestamp ? { [dlqHeader.timestamp]: message.timestamp } : {}),
      [dlqHeader.key]: message.key ?? '',
      [dlqHeader.eventId]: message.headers.id ?? '',
      [dlqHeader.errorCode]: failure.code,
      [dlqHeader.errorMessage]: failure.message.slice(0, 2000),
      [dlqHeader.attempts]: String(failure.attempts),
      [dlqHeader.at]: at.toISOString(),
    },
  }
}

/**
 * Publishes one dead letter, stamped with the consumer group that wrote it, and waits for the
 * broker's acknowledgement from all in-sync replicas.
 */
export async function publishDeadLetter(
  producer: Producer,
  topic: string,
  message: Message,
  group: string,
): Promise<void> {
  const stamped = { ...message, headers: { ...message.headers, [dlqHeader.group]: group } }
  await producer.send({ topic, acks: -1, messages: [stamped] })
}
