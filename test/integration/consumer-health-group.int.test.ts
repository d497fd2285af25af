import { logLevel } from 'kafkajs'
import { createEventConsumer, createKafka, startHealthServer } from 'outbox-cdc'
import { describe, expect, inject, it } from 'vitest'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

const stack = inject('stack')

/**
 * `/health` tells whether the consumer is in its group, not only whether it was started. The
 * shared broker cannot be frozen here, so the consumer is taken out of its group in a way local to
 * this test: its only topic is deleted under it. kafkajs's fetches then fail, it crashes and keeps
 * restarting (`restart: true`) without getting back in, until the topic exists again. (A consumer
 * whose watch sees the topic gone fails instead: see consumer-topic-deleted.int.test.ts.)
 */
describe('the consumer health endpoint and group membership', () => {
  const fixture = useConsumerFixture('health-group', { poolMax: 2 })

  it('answers 503 with the reason while kafkajs has crashed out of the group, and 200 once it has rejoined', async () => {
    const ns = uniqueName('it.hg').toLowerCase()
    const topic = `${ns}.book`
    const { admin } = fixture
    const createTopic = () => createTopics(admin, { topics: [{ topic }], waitForLeaders: true })
    await createTopic()
    fixture.onCleanup(async () => {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(ns))
      await admin.deleteTopics({ topics: mine })
    })
    // Few, quick retries: the crash this test waits for comes within seconds.
    const kafka = createKafka({
      brokers: stack.kafka.brokers,
      clientId: 'it-health-group',
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    })
    const consumer = createEventConsumer({
      kafka,
      ...orderSideOn(fixture.database.db),
      groupId: uniqueName('it-health-group'),
      namespace: ns,
      log: createLogger('it', 'silent'),
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      // The topic watch would see the deletion and fail the consumer for a fresh start
      // (TOPIC_DELETED, consumer-topic-deleted.int.test.ts); this test is about kafkajs's own
      // crash and rejoin, so the watch looks only at start.
      topicWatchIntervalMs: 600_000,
    })
    fixture.onCleanup(() => consumer.stop())
    const health = await startHealthServer(consumer, 0)
    fixture.onCleanup(() => health.close())
    const check = async () => {
      const response = await health.inject({ url: '/health' })
      return { status: response.statusCode, body: response.json() }
    }
    const send = async () => {
      const producer = kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      await producer.send({ topic, messages: [eventRecord(bookPayload('Membership'))] })
      await producer.disconnect()
    }

    await consumer.start()
    await send()
    await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(1)
    expect((await check()).status).toBe(200)

    await admin.deleteTopics({ topics: [topic] })
    await expect.poll(async () => (await check()).status, { timeout: 30_000 }).toBe(503)
    const out = await check()
    expect(out.body).toMatchObject({ state: 'running' })
    expect(out.body.reason).toMatch(/crash|heartbeat|fetch/)

    await createTopic()
    await expect.poll(async () => (await check()).status, { timeout: 30_000 }).toBe(200)
    await send()
    await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(2)
    expect((await check()).status).toBe(200)
  })
})
