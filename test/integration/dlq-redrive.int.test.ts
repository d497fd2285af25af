import { type Kafka, logLevel, type Message } from 'kafkajs'
import {
  createKafka,
  type DeadLetter,
  deadLetterMessage,
  ensureTopics,
  listDeadLetters,
  redriveDeadLetters,
} from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { ensureBookstoreTopics } from '../../connector/topics.ts'
import { deadLetterTopic, topicFor } from '../../lib/events.ts'
import { uniqueName } from '../support.ts'

const stack = inject('stack')

/** A dead letter as the consumer writes it, sent home to `originalTopic` by a redrive. */
const letter = (originalTopic: string, padBytes = 0) => {
  const id = crypto.randomUUID()
  const message = deadLetterMessage(
    {
      topic: originalTopic,
      partition: 0,
      offset: '0',
      key: id,
      headers: { id, event_type: 'BookAdded' },
      value: JSON.stringify({ id, pad: 'x'.repeat(padBytes) }),
    },
    { code: 'HANDLER_FAILED', message: 'it: blocked', attempts: 1 },
  )
  return { id, message }
}
type Letter = ReturnType<typeof letter>

/**
 * dlq:list and dlq:redrive on a three-partition dead-letter topic, Kafka only: what a redrive
 * sends is read back from the original topics, so "sent" means the broker has it.
 */
describe('dlq:redrive and dlq:list on a multi-partition dead-letter topic', () => {
  const kafka = createKafka({ brokers: stack.kafka.brokers, clientId: 'it-dlq', logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  const topics: string[] = []

  beforeAll(async () => {
    await admin.connect()
    await producer.connect()
  })
  afterAll(async () => {
    await producer.disconnect()
    await admin.deleteTopics({ topics }).catch(() => {})
    await admin.disconnect()
  })

  /** The event topics and a three-partition dead-letter topic, provisioned as connector:register does. */
  const namespace = async () => {
    const ns = uniqueName('it.dlq').toLowerCase()
    const provisioned = await ensureBookstoreTopics(admin, ns, 1, { partitions: 3, retentionMs: 86_400_000 })
    topics.push(...provisioned.map((t) => t.topic))
    return { ns, dlq: deadLetterTopic(ns), book: topicFor('book', ns) }
  }
  /** One send per letter, so each is a record batch of its own, as the consumer writes them. */
  const deadLetter = async (dlq: string, partition: number, ...letters: Letter[]) => {
    for (const { message } of letters)
      await producer.send({ topic: dlq, acks: -1, messages: [{ ...message, partition } as Message] })
  }
  /** Event ids of every record in `topic`, read with a group of its own that is deleted after. */
  const idsIn = async (topic: string) => {
    const total = (await admin.fetchTopicOffsets(topic)).reduce(
      (sum, p) => sum + Number(p.high) - Number(p.low),
      0,
    )
    const ids: string[] = []
    if (total === 0) return ids
    const groupId = uniqueName('it-dlq-check')
    const reader = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    await reader.connect()
    try {
      await reader.subscribe({ topic, fromBeginning: true })
      await reader.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          ids.push(String(message.headers?.id))
        },
      })
      await expect.poll(() => ids.length, { timeout: 20_000 }).toBe(total)
    } finally {
      await reader.disconnect()
      await admin.deleteGroups([groupId]).catch(() => {})
    }
    return ids.sort()
  }
  const idsOf = (letters: Letter[]) => letters.map((l) => l.id).sort()
  const redrive = (
    client: Kafka,
    dlq: string,
    groupId: string,
    onLetter: (letter: DeadLetter) => void | Promise<void> = () => {},
    dryRun = false,
  ) => redriveDeadLetters(client, dlq, groupId, { dryRun, onLetter })

  it('redrives exactly the letters present at its start; letters arriving during it go with the next run, none skipped, none sent twice', async () => {
    const { dlq, book } = await namespace()
    // Each partition holds more than kafkajs fetches of a partition at once (1 MB), so the run
    // needs a second round of fetches, made after the newcomers have arrived in every partition;
    // in that round, a partition finished while another is still being read is where a reader
    // that only skips what is past the end (and commits it) loses the newcomers.
    const before = [0, 1, 2].map(() => [letter(book), letter(book, 600_000), letter(book, 600_000)])
    for (const [partition, letters] of before.entries()) await deadLetter(dlq, partition, ...letters)
    const newcomers = [letter(book), letter(book), letter(book)]
    const group = uniqueName('it-redrive')

    const sent: string[] = []
    const first = await redrive(kafka, dlq, group, async (l) => {
      sent.push(String(l.eventId))
      if (sent.length === 1) {
        for (const [partition, newcomer] of newcomers.entries()) await deadLetter(dlq, partition, newcomer)
      }
    })
    expect(first).toBe(9)
    expect(sent.sort()).toEqual(idsOf(before.flat()))
    expect(await idsIn(book)).toEqual(idsOf(before.flat()))

    const wouldSend: string[] = []
    expect(await redrive(kafka, dlq, group, (l) => void wouldSend.push(String(l.eventId)), true)).toBe(3)
    expect(wouldSend.sort()).toEqual(idsOf(newcomers))

    const second: string[] = []
    expect(await redrive(kafka, dlq, group, (l) => void second.push(String(l.eventId)))).toBe(3)
    expect(second.sort()).toEqual(idsOf(newcomers))
    expect(await idsIn(book)).toEqual(idsOf([...before.flat(), ...newcomers]))
    expect(await redrive(kafka, dlq, group)).toBe(0)
  })

  it("sends a letter home with its original record timestamp, the event's own time (the doctor's freshness reads it)", async () => {
    const { dlq, book } = await namespace()
    const written = String(Date.now() - 3_600_000)
    const id = crypto.randomUUID()
    const message = deadLetterMessage(
      {
        topic: book,
        partition: 0,
        offset: '7',
        key: id,
        timestamp: written,
        headers: { id, event_type: 'BookAdded' },
        value: JSON.stringify({ id }),
      },
      { code: 'HANDLER_FAILED', message: 'it: blocked', attempts: 1 },
    )
    await producer.send({ topic: dlq, acks: -1, messages: [message] })
    expect(await redrive(kafka, dlq, uniqueName('it-redrive'))).toBe(1)
    const stamps: string[] = []
    const groupId = uniqueName('it-dlq-stamp')
    const reader = kafka.consumer({ groupId, maxWaitTimeInMs: 100 })
    await reader.connect()
    try {
      await reader.subscribe({ topic: book, fromBeginning: true })
      await reader.run({ eachMessage: async ({ message: m }) => void stamps.push(m.timestamp) })
      await expect.poll(() => stamps.length, { timeout: 20_000 }).toBe(1)
    } finally {
      await reader.disconnect()
      await admin.deleteGroups([groupId]).catch(() => {})
    }
    expect(stamps).toEqual([written])
  })

  it('dlq:list and a dry run leave no consumer group behind, even when the run fails, and move nothing', async () => {
    const { dlq, book } = await namespace()
    for (const partition of [0, 1, 2]) await deadLetter(dlq, partition, letter(book))
    const group = uniqueName('it-redrive')
    const consumers = vi.spyOn(kafka, 'consumer')
    let readers: string[]
    try {
      expect(await listDeadLetters(kafka, dlq)).toHaveLength(3)
      expect(await redrive(kafka, dlq, group, () => {}, true)).toBe(3)
      await expect(
        redrive(
          kafka,
          dlq,
          group,
          () => {
            throw new Error('it: the terminal went away')
          },
          true,
        ),
      ).rejects.toThrow('it: the terminal went away')
    } finally {
      readers = consumers.mock.calls.map(([config]) => config.groupId)
      consumers.mockRestore()
    }
    expect(readers).toHaveLength(3)
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId)
    expect(groups.filter((g) => readers.includes(g))).toEqual([])
    expect(groups).not.toContain(group)
    expect(await redrive(kafka, dlq, group)).toBe(3)
  })

  it('a redrive stopped by a failed send has committed only what was sent; the next run sends the rest once', async () => {
    const { ns, dlq, book } = await namespace()
    const gone = `${ns}.gone`
    const letters = [letter(book), letter(gone), letter(book)]
    await deadLetter(dlq, 0, ...letters)
    const group = uniqueName('it-redrive')
    // Few retries: the send to the missing topic is meant to fail, and soon.
    const impatient = createKafka({
      brokers: stack.kafka.brokers,
      clientId: 'it-dlq-impatient',
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    })

    await expect(redrive(impatient, dlq, group)).rejects.toThrow(`back to ${gone}`)
    expect(await admin.listTopics()).not.toContain(gone)
    expect(await idsIn(book)).toEqual(idsOf(letters.slice(0, 1)))

    await ensureTopics(admin, [{ topic: gone, partitions: 1 }])
    topics.push(gone)
    expect(await redrive(kafka, dlq, group)).toBe(2)
    expect(await idsIn(book)).toEqual(idsOf([letters[0] as Letter, letters[2] as Letter]))
    expect(await idsIn(gone)).toEqual(idsOf(letters.slice(1, 2)))
  })
})
