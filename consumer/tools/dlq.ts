import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs'
import { dlqHeader } from '../dead-letter.ts'
import { readTopicToEnd } from './read-topic.ts'

export interface DeadLetter {
  offset: string
  partition: number
  at: string | undefined
  errorCode: string | undefined
  errorMessage: string | undefined
  attempts: string | undefined
  eventId: string | undefined
  eventType: string | undefined
  original: {
    topic: string | undefined
    partition: string | undefined
    offset: string | undefined
    key: string | undefined
  }
}

const text = (headers: IHeaders | undefined, name: string) => {
  const value = headers?.[name]
  return (Array.isArray(value) ? value[0] : value)?.toString()
}

export function toDeadLetter(message: KafkaMessage, partition: number): DeadLetter {
  const h = message.headers
  return {
    offset: message.offset,
    partition,
    at: text(h, dlqHeader.at),
    errorCode: text(h, dlqHeader.errorCode),
    errorMessage: text(h, dlqHeader.errorMessage),
    attempts: text(h, dlqHeader.attempts),
    eventId: text(h, dlqHeader.eventId),
    eventType: text(h, 'event_type'),
    original: {
      topic: text(h, dlqHeader.topic),
      partition: text(h, dlqHeader.partition),
      offset: text(h, dlqHeader.offset),
      key: text(h, dlqHeader.key),
    },
  }
}

async function topicExists(kafka: Kafka, topic: string): Promise<boolean> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return (await admin.listTopics()).includes(topic)
  } finally {
    await admin.disconnect()
  }
}

/** Every dead letter currently in `topic`, oldest first; reads with a throwaway group. */
export async function listDeadLetters(kafka: Kafka, topic: string): Promise<DeadLetter[]> {
  if (!(await topicExists(kafka, topic))) return []
  const letters: DeadLetter[] = []
  await readTopicToEnd(
    kafka,
    topic,
    `outbox-cdc-dlq-list-${crypto.randomUUID()}`,
    async (message, partition) => {
      letters.push(toDeadLetter(message, partition))
    },
  )
  return letters
}

/**
 * Sends each dead letter not yet redriven back to its original topic with its original key, value
 * and headers (the dlq.* ones dropped), so the consumer sees the same event again; the inbox
 * keeps that safe if it was applied after all. Progress is the `groupId`'s committed offset, so
 * a second run only sends what arrived since.
 */
export async function redriveDeadLetters(
  kafka: Kafka,
  topic: string,
  groupId: string,
  options: { dryRun: boolean; onLetter: (letter: DeadLetter) => void },
): Promise<number> {
  if (!(await topicExists(kafka, topic))) return 0
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    const read = async (message: KafkaMessage, partition: number) => {
      const letter = toDeadLetter(message, partition)
      options.onLetter(letter)
      if (options.dryRun) return
      if (!letter.original.topic)
        throw new Error(`dead letter at offset ${message.offset} names no original topic`)
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).filter(([name]) => !name.startsWith('dlq.')),
      )
      await producer.send({
        topic: letter.original.topic,
        acks: -1,
        messages: [{ key: message.key, value: message.value, headers }],
      })
    }
    // A dry run reads with a throwaway group so it moves nothing.
    return await readTopicToEnd(
      kafka,
      topic,
      options.dryRun ? `${groupId}-dry-${crypto.randomUUID()}` : groupId,
      read,
    )
  } finally {
    await producer.disconnect()
  }
}
