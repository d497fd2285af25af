import { createEventConsumer } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

/**
 * A namespace may sit under another (`outbox.events` and `outbox.events.v2`): a consumer of the
 * outer one reads `<namespace>.<aggregate>` only, never the inner namespace's topics nor its
 * dead-letter topic, on the real broker.
 */
describe('a consumer of a namespace with another namespace nested under it', () => {
  const fixture = useConsumerFixture('nested-ns', { poolMax: 2 })

  it('reads only its own <namespace>.<aggregate> topics, not <namespace>.v2.* nor <namespace>.v2-dlq', async () => {
    const ns = uniqueName('it.nest').toLowerCase()
    const own = `${ns}.book`
    const nested = [`${ns}.v2.book`, `${ns}.v2-dlq`]
    const { admin, kafka } = fixture
    await createTopics(admin, {
      topics: [own, ...nested].map((topic) => ({ topic })),
      waitForLeaders: true,
    })
    fixture.onCleanup(async () => {
      const mine = (await admin.listTopics()).filter((t) => t === `${ns}-dlq` || t.startsWith(`${ns}.`))
      await admin.deleteTopics({ topics: mine })
    })
    const send = async (topic: string) => {
      const book = bookPayload(topic)
      const producer = kafka.producer({ allowAutoTopicCreation: false })
      await producer.connect()
      await producer.send({ topic, messages: [eventRecord(book)] })
      await producer.disconnect()
      return book.id
    }
    const inCatalogue = async (ids: string[]) =>
      (
        await fixture.database.db.$client<
          { n: number }[]
        >`select count(*)::int as n from catalogue where book_id = any(${ids}::uuid[])`
      )[0]?.n
    // Written before the consumer starts, so each is read at once if the consumer reads its topic.
    const nestedIds = await Promise.all(nested.map(send))
    const consumer = createEventConsumer({
      kafka,
      ...orderSideOn(fixture.database.db),
      groupId: uniqueName('it-nested-ns'),
      namespace: ns,
      log: createLogger('it', 'silent'),
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      topicWatchIntervalMs: 250,
    })
    fixture.onCleanup(() => consumer.stop())
    await consumer.start()
    const ownId = await send(own)
    await expect.poll(() => inCatalogue([ownId]), { timeout: 20_000 }).toBe(1)

    expect(consumer.topics).toEqual({ reading: [own], waitingFor: [] })
    expect(await inCatalogue(nestedIds)).toBe(0)
    expect(consumer.stats).toMatchObject({ applied: 1, deadLettered: 0 })
  })
})
