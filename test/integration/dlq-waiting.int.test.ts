import { createKafka, deadLettersFinding, dlqHeader, redriveDeadLetters } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { npmCommands } from '../../lib/commands.ts'
import { deadLetterTopic } from '../../lib/events.ts'
import { createTopics, uniqueName } from '../support.ts'

const stack = inject('stack')

/** Dead letters that wait, and those already sent back, on real Kafka; one redrive at a time. */
describe('dead letters waiting for a redrive', () => {
  const namespace = `it.${uniqueName('w').toLowerCase()}`
  const dlq = deadLetterTopic(namespace)
  const original = `${namespace}.book`
  const group = `${namespace}-dlq-redrive`
  const kafka = createKafka({ brokers: stack.kafka.brokers, clientId: 'it-dlq-waiting' })
  const admin = kafka.admin()

  beforeAll(async () => {
    await admin.connect()
    await createTopics(admin, {
      topics: [
        { topic: dlq, numPartitions: 1 },
        { topic: original, numPartitions: 1 },
      ],
      waitForLeaders: true,
    })
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: dlq,
      acks: -1,
      messages: [1, 2, 3].map((n) => ({
        key: `k${n}`,
        value: '{}',
        headers: {
          id: crypto.randomUUID(),
          [dlqHeader.topic]: original,
          [dlqHeader.errorCode]: 'INVALID_PAYLOAD',
        },
      })),
    })
    await producer.disconnect()
  })
  afterAll(async () => {
    await admin.deleteTopics({ topics: [dlq, original] }).catch(() => {})
    await admin.deleteGroups([group]).catch(() => {})
    await admin.disconnect()
  })

  const finding = async () =>
    deadLettersFinding(admin, await admin.listTopics(), {
      deadLetters: { topic: dlq, redriveGroup: group },
      commands: npmCommands,
    })

  it('refuses a second redrive while one reads through the group, and lets a dry run look', async () => {
    const other = kafka.consumer({ groupId: group })
    await other.connect()
    await other.subscribe({ topics: [dlq], fromBeginning: true })
    // Holds the group and commits nothing: a redrive in another process, mid-run.
    await other.run({ autoCommit: false, eachMessage: async () => {} })
    try {
      await expect
        .poll(async () => (await admin.describeGroups([group])).groups[0]?.members.length, {
          timeout: 30_000,
        })
        .toBe(1)
      const sent: string[] = []
      await expect(
        redriveDeadLetters(kafka, dlq, group, { dryRun: false, onLetter: (l) => void sent.push(l.offset) }),
      ).rejects.toMatchObject({ code: 'REDRIVE_BUSY' })
      expect(sent).toEqual([])
      const preview = await redriveDeadLetters(kafka, dlq, group, { dryRun: true, onLetter: () => {} })
      expect(preview).toBe(3)
    } finally {
      await other.disconnect()
    }
  })

  it('counts letters as waiting until they are redriven, then none, while the topic still keeps them', async () => {
    expect(await finding()).toMatchObject({
      severity: 'warn',
      detail: `3 dead letter(s) waiting in ${dlq} (3 kept)`,
      data: { depth: 3, kept: 3 },
    })
    const sent = await redriveDeadLetters(kafka, dlq, group, { dryRun: false, onLetter: () => {} })
    expect(sent).toBe(3)
    expect(await finding()).toMatchObject({ severity: 'ok', data: { depth: 0, kept: 3 } })
  })
})
