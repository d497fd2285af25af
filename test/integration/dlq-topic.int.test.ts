import { ConfigResourceTypes, logLevel } from 'kafkajs'
import { createEventConsumer, createKafka } from 'outbox-cdc'
import { describe, expect, inject, it } from 'vitest'
import { ensureBookstoreTopics } from '../../connector/topics.ts'
import { deadLetterTopic, topicFor } from '../../lib/events.ts'
import { createLogger } from '../../lib/logger.ts'
import { eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

const stack = inject('stack')
const dayMs = 24 * 60 * 60 * 1000

/**
 * The dead-letter topic exists before the first poison message, with the partitions and retention
 * asked for, whoever starts first (connector:register or the consumer); and the consumer never
 * leans on the broker to create it. These hold whether or not the broker auto-creates topics.
 */
describe('the dead-letter topic', () => {
  const fixture = useConsumerFixture('dlq-topic', { poolMax: 3 })
  const { kafka, admin } = fixture

  const namespace = () => {
    const ns = uniqueName('it.dlqt').toLowerCase()
    fixture.onCleanup(async () => {
      const mine = (await admin.listTopics()).filter(
        (t) => t.startsWith(`${ns}.`) || t === deadLetterTopic(ns),
      )
      await admin.deleteTopics({ topics: mine })
    })
    return ns
  }
  /** Partitions and retention.ms of `topic` as the broker has them; undefined if it does not exist. */
  const described = async (topic: string) => {
    if (!(await admin.listTopics()).includes(topic)) return undefined
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }],
    })
    return {
      partitions: metadata?.partitions.length,
      retentionMs: resources[0]?.configEntries.find((e) => e.configName === 'retention.ms')?.configValue,
    }
  }
  const poison = eventRecord({ id: 'p' }, 'BookAdded', '{"title":')
  const send = async (topic: string) => {
    const producer = kafka.producer({ allowAutoTopicCreation: false })
    await producer.connect()
    await producer.send({ topic, messages: [poison] })
    await producer.disconnect()
  }

  it('is created with the event topics, with its own partitions and retention, and left alone once it exists', async () => {
    const ns = namespace()
    const settings = { partitions: 3, retentionMs: 3 * dayMs }
    expect(await ensureBookstoreTopics(admin, ns, 2, settings)).toContainEqual({
      topic: deadLetterTopic(ns),
      partitions: 3,
      created: true,
    })
    expect(await described(deadLetterTopic(ns))).toEqual({ partitions: 3, retentionMs: String(3 * dayMs) })
    expect(await described(topicFor('book', ns))).toMatchObject({ partitions: 2 })

    const again = await ensureBookstoreTopics(admin, ns, 2, { partitions: 5, retentionMs: -1 })
    expect(again).toContainEqual({ topic: deadLetterTopic(ns), partitions: 3, created: false })
    expect(await described(deadLetterTopic(ns))).toEqual({ partitions: 3, retentionMs: String(3 * dayMs) })
  })

  it('is created by a consumer started before connector:register, before any poison message, and takes its dead letters', async () => {
    const ns = namespace()
    await createTopics(admin, { topics: [{ topic: topicFor('book', ns) }], waitForLeaders: true })
    const consumer = createEventConsumer({
      kafka,
      ...orderSideOn(fixture.database.db),
      groupId: uniqueName('it-dlq-topic'),
      namespace: ns,
      log: createLogger('it', 'silent'),
      retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      deadLetterTopic: { partitions: 2, retentionMs: 5 * dayMs },
    })
    fixture.onCleanup(() => consumer.stop())
    await consumer.start()
    expect(await described(deadLetterTopic(ns))).toEqual({ partitions: 2, retentionMs: String(5 * dayMs) })

    await send(topicFor('book', ns))
    await expect.poll(() => consumer.stats.deadLettered, { timeout: 20_000 }).toBe(1)
    const offsets = await admin.fetchTopicOffsets(deadLetterTopic(ns))
    expect(offsets.reduce((sum, p) => sum + Number(p.high), 0)).toBe(1)
  })

  it('is never auto-created by the consumer: with it deleted, a poison message stops the consumer with DEAD_LETTER_FAILED', async () => {
    const ns = namespace()
    await createTopics(admin, { topics: [{ topic: topicFor('book', ns) }], waitForLeaders: true })
    // Few retries: the dead letter is meant to fail, and soon.
    const impatient = createKafka({
      brokers: stack.kafka.brokers,
      clientId: 'it-dlq-topic-impatient',
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    })
    let fatal: (Error & { code?: string }) | undefined
    const consumer = createEventConsumer({
      kafka: impatient,
      ...orderSideOn(fixture.database.db),
      groupId: uniqueName('it-dlq-topic'),
      namespace: ns,
      log: createLogger('it', 'silent'),
      retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      onFatal: (error) => {
        fatal = error
      },
    })
    fixture.onCleanup(() => consumer.stop())
    await consumer.start()
    await admin.deleteTopics({ topics: [deadLetterTopic(ns)] })
    await expect.poll(async () => (await admin.listTopics()).includes(deadLetterTopic(ns))).toBe(false)

    await send(topicFor('book', ns))
    await expect.poll(() => fatal?.code, { timeout: 30_000 }).toBe('DEAD_LETTER_FAILED')
    expect(consumer.stats.deadLettered).toBe(0)
    expect(await admin.listTopics()).not.toContain(deadLetterTopic(ns))
  })
})
