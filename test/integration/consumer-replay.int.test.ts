import { logLevel } from 'kafkajs'
import { createKafka, ensureTopics, type ReplayFrom, replayGroup } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { uniqueName } from '../support.ts'

const stack = inject('stack')

/**
 * consumer:replay moves a group back, never forward: a target past where the group stands (a large
 * offset, a time after its position or after the last record) would skip events it has not applied
 * yet, which no inbox can bring back. Kafka only.
 */
describe('consumer:replay never skips what the group has not read', () => {
  const kafka = createKafka({
    brokers: stack.kafka.brokers,
    clientId: 'it-replay',
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  const ns = uniqueName('it.replay').toLowerCase()
  const topic = `${ns}.book`
  const groupId = uniqueName('it-replay-group')
  const base = Date.now() - 60_000

  beforeAll(async () => {
    await admin.connect()
    await ensureTopics(admin, [{ topic: topic, partitions: 2 }])
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    // Partition 0: six records a second apart; partition 1: two.
    await producer.send({
      topic,
      acks: -1,
      messages: [
        ...Array.from({ length: 6 }, (_, i) => ({
          partition: 0,
          value: `p0-${i}`,
          timestamp: String(base + i * 1000),
        })),
        ...Array.from({ length: 2 }, (_, i) => ({
          partition: 1,
          value: `p1-${i}`,
          timestamp: String(base + i * 1000),
        })),
      ],
    })
    await producer.disconnect()
  })
  afterAll(async () => {
    await admin.deleteGroups([groupId]).catch(() => {})
    await admin.deleteTopics({ topics: [topic] }).catch(() => {})
    await admin.disconnect()
  })

  /** The group has applied partition 0 up to offset 2 and has never committed on partition 1. */
  const standAt = async () => {
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] })
  }
  const committed = async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return Object.fromEntries((offsets?.partitions ?? []).map((p) => [p.partition, p.offset]))
  }

  it.each<[string, ReplayFrom]>([
    ['an offset past the end', { kind: 'offset', offset: 999 }],
    ['an offset ahead of the group', { kind: 'offset', offset: 4 }],
    ['a time after the last record', { kind: 'timestamp', at: new Date(base + 3_600_000) }],
    ['a time ahead of the group', { kind: 'timestamp', at: new Date(base + 3_500) }],
  ])('%s leaves each partition where it was (or at its beginning without a commit)', async (_, from) => {
    await standAt()
    await replayGroup(kafka, groupId, ns, from)
    // Partition 1 without a commit is read from its beginning, as the consumer would (fromBeginning).
    expect(await committed()).toEqual({ 0: '2', 1: '0' })
  })

  it('still moves back: an earlier offset or time, and the beginning', async () => {
    await standAt()
    await replayGroup(kafka, groupId, ns, { kind: 'offset', offset: 1 })
    expect((await committed())[0]).toBe('1')
    await standAt()
    await replayGroup(kafka, groupId, ns, { kind: 'timestamp', at: new Date(base + 500) })
    expect((await committed())[0]).toBe('1')
    await standAt()
    await replayGroup(kafka, groupId, ns, { kind: 'beginning' })
    expect(await committed()).toEqual({ 0: '0', 1: '0' })
  })
})
