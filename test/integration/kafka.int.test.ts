import { type Consumer, type EachMessagePayload, logLevel } from 'kafkajs'
import { createKafka } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTopics, uniqueName } from '../support.ts'

const stack = inject('stack')
const kafka = createKafka({ brokers: stack.kafka.brokers, clientId: 'it-kafka', logLevel: logLevel.NOTHING })

/**
 * kafkajs 2.2.4 (2023) predates Kafka 4, which removed old protocol versions (KIP-896). These
 * tests are the proof that the client we ship still produces, consumes and joins groups.
 */
describe('kafkajs against the Kafka 4 broker', () => {
  const admin = kafka.admin()
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  const consumers: Consumer[] = []
  const topic = uniqueName('it.kafka')

  beforeAll(async () => {
    await admin.connect()
    await producer.connect()
    await createTopics(admin, { topics: [{ topic, numPartitions: 2 }], waitForLeaders: true })
  })

  afterAll(async () => {
    await Promise.all(consumers.map((consumer) => consumer.disconnect()))
    await producer.disconnect()
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect()
  })

  const newConsumer = (groupId: string) => {
    const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1000 })
    consumers.push(consumer)
    return consumer
  }

  it('round-trips key, headers and value, and a restarted member resumes after its committed offset', async () => {
    await producer.send({
      topic,
      messages: [
        { key: 'book-1', value: JSON.stringify({ n: 1 }), headers: { id: 'e1', event_type: 'BookAdded' } },
        { key: 'book-1', value: JSON.stringify({ n: 2 }), headers: { id: 'e2', event_type: 'BookAdded' } },
      ],
    })
    const groupId = uniqueName('it-group')
    const first = newConsumer(groupId)
    await first.connect()
    await first.subscribe({ topic, fromBeginning: true })
    const seen: EachMessagePayload['message'][] = []
    await first.run({
      autoCommit: false,
      eachMessage: async ({ message, partition }) => {
        seen.push(message)
        // Commit only the first message, as a consumer that crashed after one event would have.
        if (seen.length === 1) {
          await first.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }])
        }
      },
    })
    await expect.poll(() => seen.length, { timeout: 20_000 }).toBe(2)
    expect(seen.map((m) => m.key?.toString())).toEqual(['book-1', 'book-1'])
    expect(seen.map((m) => m.headers?.id?.toString())).toEqual(['e1', 'e2'])
    expect(seen[0]?.headers?.event_type?.toString()).toBe('BookAdded')
    expect(JSON.parse(seen[1]?.value?.toString() ?? '')).toEqual({ n: 2 })
    await first.disconnect()

    const resumed: string[] = []
    const second = newConsumer(groupId)
    await second.connect()
    await second.subscribe({ topic, fromBeginning: true })
    await second.run({
      eachMessage: async ({ message }) => {
        resumed.push(message.headers?.id?.toString() ?? '')
      },
    })
    await expect.poll(() => resumed, { timeout: 20_000 }).toEqual(['e2'])
  })

  it('splits partitions between two members of one group', async () => {
    const groupId = uniqueName('it-split')
    const assignments = new Map<string, number[]>()
    const members = [newConsumer(groupId), newConsumer(groupId)]
    for (const consumer of members) {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        assignments.set(payload.memberId, payload.memberAssignment[topic] ?? [])
      })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({ eachMessage: async () => {} })
    }
    await expect
      .poll(async () => (await admin.describeGroups([groupId])).groups[0]?.members.length, {
        timeout: 30_000,
      })
      .toBe(2)
    await expect
      .poll(() => [...assignments.values()].filter((partitions) => partitions.length === 1).length, {
        timeout: 30_000,
      })
      .toBe(2)
    const singles = [...assignments.values()].filter((partitions) => partitions.length === 1)
    expect(singles.flat().sort((a, b) => a - b)).toEqual([0, 1])
  })
})
