import type { IHeaders, Kafka, KafkaMessage, Message } from 'kafkajs'
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
  /** The consumer group that wrote it; undefined on a letter from before groups were named. */
  group: string | undefined
  /** On a letter parked to keep its key's order: the event id it waits behind. */
  parkedBehind: string | undefined
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
    group: text(h, dlqHeader.group),
    parkedBehind: text(h, dlqHeader.parkedBehind),
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

/** True when a redrive or a list for `group` takes this letter: its own, or one that names no group. */
export const isLetterOf = (letter: Pick<DeadLetter, 'group'>, group: string | undefined) =>
  group === undefined || letter.group === undefined || letter.group === group

/**
 * The record a redrive sends back for a letter: its original key, value and headers (the dlq.*
 * ones dropped), and the event's own time. A letter that names its group goes back for that group
 * only (other groups pass it by), with where the event first stood, so its key's letters keep
 * their order if it fails again.
 */
export function redrivenCopy(message: KafkaMessage): Message {
  const group = text(message.headers, dlqHeader.group)
  const firstOffset = text(message.headers, dlqHeader.offset)
  const headers: IHeaders = Object.fromEntries(
    Object.entries(message.headers ?? {}).filter(([name]) => !name.startsWith('dlq.')),
  )
  if (group !== undefined) {
    headers[dlqHeader.redrivenFor] = group
    if (firstOffset !== undefined) headers[dlqHeader.offset] = firstOffset
  }
  // The event's own time, as it first arrived (a letter from before the header existed gets the
  // broker's now): consumers record it as when the event was written.
  return { key: message.key, value: message.value, headers, ...originalTimestamp(message) }
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
  options: { newest?: number; group?: string } = {},
): Promise<DeadLetter[]> {
  if (!(await topicExists(kafka, topic))) return []
  const letters: DeadLetter[] = []
  const mode =
    options.newest === undefined
      ? { kind: 'peek' as const }
      : { kind: 'peek' as const, newest: options.newest }
  await readTopicToEnd(kafka, topic, mode, async (message, partition) => {
    const letter = toDeadLetter(message, partition)
    if (isLetterOf(letter, options.group)) letters.push(letter)
  })
  return letters
}

/**
 * Sends each dead letter not yet redriven back to its original topic as redrivenCopy makes it, so
 * the group that wrote it sees the same event again; with `group`, only that group's letters (and
 * those naming none) are sent, and the others are passed over. A key's letters go back in the order
 * they were written, the first before those parked behind it. Progress is
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
  options: { dryRun: boolean; group?: string; onLetter: (letter: DeadLetter) => void | Promise<void> },
): Promise<number> {
  if (!(await topicExists(kafka, topic))) return 0
  if (!options.dryRun) await refuseIfRunning(kafka, groupId)
  // A letter whose original topic is gone fails (and stops the run) rather than creating it with
  // the broker's defaults.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
  await producer.connect()
  try {
    let sent = 0
    const send = async (message: KafkaMessage, partition: number) => {
      const letter = toDeadLetter(message, partition)
      if (!isLetterOf(letter, options.group)) return
      sent += 1
      await options.onLetter(letter)
      if (options.dryRun) return
      if (!letter.original.topic)
        throw new Error(`dead letter at offset ${message.offset} names no original topic`)
      await producer
        .send({ topic: letter.original.topic, acks: -1, messages: [redrivenCopy(message)] })
        .catch((cause: unknown) => {
          throw new Error(
            `could not send the dead letter at ${topic}[${partition}]@${message.offset} back to ${letter.original.topic}; it and the letters not yet sent stay for the next redrive`,
            { cause },
          )
        })
    }
    await readTopicToEnd(
      kafka,
      topic,
      options.dryRun ? { kind: 'peek', positionOf: groupId } : { kind: 'commit', groupId },
      send,
    )
    return sent
  } finally {
    await producer.disconnect()
  }
}
