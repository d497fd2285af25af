import { logLevel } from 'kafkajs'
import { createEventConsumer, createKafka } from 'outbox-cdc'
import { describe, expect, inject, it } from 'vitest'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

const stack = inject('stack')

/**
 * kafkajs cannot unsubscribe: once one topic it reads is deleted, its metadata refreshes fail and
 * it crashes and restarts for ever, reading none of the others and never giving up, so a
 * supervisor would never restart the process. The consumer notices the deletion itself and fails
 * (exit 1 in a process), and the consumer started afresh reads the topics that exist.
 */
describe('a consumer one of whose topics is deleted', () => {
  const fixture = useConsumerFixture('topic-deleted', { poolMax: 4 })

  it('fails with TOPIC_DELETED, and a consumer started afresh in its group applies the later events of the topics left', async () => {
    const ns = uniqueName('it.gone').toLowerCase()
    const [gone, kept] = [`${ns}.a`, `${ns}.b`]
    const { admin } = fixture
    await createTopics(admin, { topics: [{ topic: gone }, { topic: kept }], waitForLeaders: true })
    fixture.onCleanup(async () => {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(ns))
      await admin.deleteTopics({ topics: mine })
    })
    // Few, quick retries: kafkajs crashes within seconds of the deletion.
    const kafka = createKafka({
      brokers: stack.kafka.brokers,
      clientId: 'it-topic-deleted',
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    })
    const groupId = uniqueName('it-topic-deleted')
    const fatal: Error[] = []
    const consumerOf = () =>
      createEventConsumer({
        kafka,
        ...orderSideOn(fixture.database.db),
        groupId,
        namespace: ns,
        log: createLogger('it', 'silent'),
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
        topicWatchIntervalMs: 250,
        onFatal: (error) => fatal.push(error),
      })
    const send = async (count: number) => {
      const books = Array.from({ length: count }, (_, i) => bookPayload(`Kept ${i}`))
      const producer = kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      await producer.send({ topic: kept, messages: books.map((b) => eventRecord(b)) })
      await producer.disconnect()
      return books.map((b) => b.id)
    }
    const inCatalogue = async (ids: string[]) =>
      (
        await fixture.database.db.$client<
          { n: number }[]
        >`select count(*)::int as n from catalogue where book_id = any(${ids}::uuid[])`
      )[0]?.n

    const first = consumerOf()
    fixture.onCleanup(() => first.stop())
    await first.start()
    const before = await send(2)
    await expect.poll(() => inCatalogue(before), { timeout: 20_000 }).toBe(2)

    await admin.deleteTopics({ topics: [gone] })
    const later = await send(2)
    await expect.poll(() => fatal.length, { timeout: 30_000 }).toBe(1)
    expect(fatal[0]).toMatchObject({ code: 'TOPIC_DELETED', retryable: false })
    expect(fatal[0]?.message).toContain(gone)
    expect(first.state).toBe('failed')
    await first.stop()

    // What the supervisor does: a fresh process, the same group, the topics that exist.
    const second = consumerOf()
    fixture.onCleanup(() => second.stop())
    await second.start()
    await expect.poll(() => inCatalogue(later), { timeout: 30_000 }).toBe(2)
    expect(second.topics).toEqual({ reading: [kept], waitingFor: [] })
    expect(second.state).toBe('running')
    expect(fatal).toHaveLength(1)
  })
})
