import type { IHeaders, Kafka, KafkaMessage } from 'kafkajs'
import { dlqHeader } from '../consumer/dead-letter.ts'
import { CodedError } from '../errors.ts'
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

/** The `timestamp` a redrive gives a letter: the original record's, when the letter kept it. */
function originalTimestamp(message: KafkaMessage): { timestamp?: string } {
  const value = message.headers?.[dlqHeader.timestamp]?.toString()
  return value && /^\d+$/.test(value) ? { timestamp: value } : {}
}

/** Another redrive (a command, a dashboard) is reading through `groupId` right now. */
export class RedriveBusyError extends CodedError<'REDRIVE_BUSY'> {}

/**
 * Two redrives at once would both read from the group's committed position and send the same
 * letters twice (and the second may never be given a partition): refuse while the group has
 * members. Two started within the same moment can still both pass; that is the window left.
 */
async function refuseIfRunning(kafka: Kafka, groupId: string) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [group] = (await admin.describeGroups([groupId])).groups
    const members = group?.members.length ?? 0
    if (members > 0)
      throw new RedriveBusyError(
        'REDRIVE_BUSY',
        `a redrive is already running (group ${groupId} has ${members} member(s)); wait for it to finish`,
        { retryable: true },
      )
  } finally {
    await admin.disconnect()
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

/**
 * Every dead letter currently in `topic` (or only the `newest` of each partition), oldest first per
 * partition. Moves nothing and leaves no consumer group behind (kafkajs reads through one; it is
 * deleted at the end).
 */
export async function listDeadLetters(
  kafka: Kafka,
  topic: string,
  options: { newest?: number } = {},
): Promise<DeadLetter[]> {
  if (!(await topicExists(kafka, topic))) return []
  const letters: DeadLetter[] = []
  const mode =
    options.newest === undefined
      ? { kind: 'peek' as const }
      : { kind: 'peek' as const, newest: options.newest }
  await readTopicToEnd(kafka, topic, mode, async (message, partition) => {
    letters.push(toDeadLetter(message, partition))
  })
  return letters
}

/**
 * Sends each dead letter not yet redriven back to its original topic with its original key, value
 * and headers (the dlq.* ones dropped), so the consumer sees the same event again. Progress is
 * `groupId`'s committed offset, moved past a letter only once its original topic acknowledged it:
 * a second run sends what arrived since, letters arriving during a run are left for the next one,
 * and a run that fails half way (it rejects) resumes at the first letter it did not send. A letter
 * sent whose commit was lost is sent again; the consumer's inbox skips the second copy.
 *
 * A dry run calls `onLetter` for the same letters a real run would send, from the same position,
 * and moves nothing. `onLetter` is awaited before each letter is sent.
 */
export async function redriveDeadLetters(
  kafka: Kafka,
  topic: string,
  groupId: string,
  options: { dryRun: boolean; onLetter: (letter: DeadLetter) => void | Promise<void> },
): Promise<number> {
  if (!(await topicExists(kafka, topic))) return 0
  if (!options.dryRun) await refuseIfRunning(kafka, groupId)
  // A letter whose original topic is gone fails (and stops the run) rather than creating it with
  // the broker's defaults.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await producer.connect()
  try {
    const send = async (message: KafkaMessage, partition: number) => {
      const letter = toDeadLetter(message, partition)
      await options.onLetter(letter)
      if (options.dryRun) return
      if (!letter.original.topic)
        throw new Error(`dead letter at offset ${message.offset} names no original topic`)
      const headers = Object.fromEntries(
        Object.entries(message.headers ?? {}).filter(([name]) => !name.startsWith('dlq.')),
      )
      await producer
        .send({
          topic: letter.original.topic,
          acks: -1,
          // The event's own time, as it first arrived (a letter from before the header existed
          // gets the broker's now): consumers record it as when the event was written.
          messages: [{ key: message.key, value: message.value, headers, ...originalTimestamp(message) }],
        })
        .catch((cause: unknown) => {
          throw new Error(
            `could not send the dead letter at ${topic}[${partition}]@${message.offset} back to ${letter.original.topic}; it and the letters not yet sent stay for the next redrive`,
            { cause },
          )
        })
    }
    return await readTopicToEnd(
      kafka,
      topic,
      options.dryRun ? { kind: 'peek', positionOf: groupId } : { kind: 'commit', groupId },
      send,
    )
  } finally {
    await producer.disconnect()
  }
}
