import { sql } from 'drizzle-orm'
import { createEventConsumer, listDeadLetters, redriveDeadLetters, replayGroup } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deadLetterTopic } from '../../lib/events.ts'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

describe('dlq:list, dlq:redrive and consumer:replay', () => {
  const fixture = useConsumerFixture('tools')
  const { kafka, admin } = fixture
  const ns = uniqueName('it.tools').toLowerCase()
  const groupId = uniqueName('tools-group')
  const stops: (() => Promise<void>)[] = []

  beforeAll(async () => {
    await createTopics(admin, {
      topics: [{ topic: `${ns}.book`, numPartitions: 2 }, { topic: deadLetterTopic(ns) }],
      waitForLeaders: true,
    })
  })
  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {})
    await admin.deleteTopics({ topics: [`${ns}.book`, deadLetterTopic(ns)] }).catch(() => {})
  })

  const consumer = (group = groupId, namespace = ns) => {
    const c = createEventConsumer({
      kafka,
      ...orderSideOn(fixture.database.db),
      groupId: group,
      namespace,
      log: createLogger('it', 'silent'),
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    })
    stops.push(() => c.stop())
    return c
  }
  const bookEvent = (title: string) => eventRecord(bookPayload(title))
  const titles = async () =>
    (
      await fixture.database.db.execute<{ title: string }>(sql`select title from catalogue order by title`)
    ).map((r) => r.title)

  it('lists a dead letter, and redrives it once its cause is fixed; a second redrive sends nothing', async () => {
    await fixture.database.db.execute(
      sql`alter table catalogue add constraint it_blocked check (title is distinct from 'Blocked')`,
    )
    const running = consumer()
    await running.start()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({ topic: `${ns}.book`, messages: [bookEvent('Fine'), bookEvent('Blocked')] })
    await producer.disconnect()
    await expect.poll(() => running.stats.deadLettered, { timeout: 20_000 }).toBe(1)

    const letters = await listDeadLetters(kafka, deadLetterTopic(ns))
    expect(letters).toHaveLength(1)
    expect(letters[0]).toMatchObject({ errorCode: 'HANDLER_FAILED', attempts: '2', eventType: 'BookAdded' })
    expect(letters[0]?.original.topic).toBe(`${ns}.book`)

    await fixture.database.db.execute(sql`alter table catalogue drop constraint it_blocked`)
    const redriveGroup = `${groupId}-redrive`
    expect(
      await redriveDeadLetters(kafka, deadLetterTopic(ns), redriveGroup, {
        dryRun: true,
        onLetter: () => {},
      }),
    ).toBe(1)
    expect(
      await redriveDeadLetters(kafka, deadLetterTopic(ns), redriveGroup, {
        dryRun: false,
        onLetter: () => {},
      }),
    ).toBe(1)
    // (Only this test's titles: the other test adds books of its own to the shared database.)
    const mine = async () => (await titles()).filter((title) => title === 'Blocked' || title === 'Fine')
    await expect.poll(mine, { timeout: 20_000 }).toEqual(['Blocked', 'Fine'])
    expect(
      await redriveDeadLetters(kafka, deadLetterTopic(ns), redriveGroup, {
        dryRun: false,
        onLetter: () => {},
      }),
    ).toBe(0)
  })

  it('refuses to replay while the group has members, then replays from the beginning applying nothing twice', async () => {
    // A namespace and group of its own: nothing here depends on what the test above left.
    const own = uniqueName('it.replay').toLowerCase()
    const group = uniqueName('replay-group')
    await createTopics(admin, {
      topics: [{ topic: `${own}.book`, numPartitions: 2 }, { topic: deadLetterTopic(own) }],
      waitForLeaders: true,
    })
    fixture.onCleanup(() => admin.deleteTopics({ topics: [`${own}.book`, deadLetterTopic(own)] }))
    const first = consumer(group, own)
    await first.start()
    const producer = kafka.producer()
    await producer.connect()
    await producer.send({
      topic: `${own}.book`,
      messages: ['Replayed A', 'Replayed B', 'Replayed C'].map((title) => bookEvent(title)),
    })
    await producer.disconnect()
    await expect.poll(() => first.stats.applied, { timeout: 20_000 }).toBe(3)

    await expect(replayGroup(kafka, group, own, { kind: 'beginning' })).rejects.toMatchObject({
      code: 'REPLAY_REFUSED',
    })
    await first.stop()
    const before = await titles()

    const { moved } = await replayGroup(kafka, group, own, { kind: 'beginning' })
    expect(moved.filter((m) => m.topic === `${own}.book`).map((m) => m.offset)).toEqual(['0', '0'])

    const again = consumer(group, own)
    await again.start()
    await expect.poll(() => again.stats.duplicates, { timeout: 20_000 }).toBe(3)
    expect(again.stats.applied).toBe(0)
    expect(await titles()).toEqual(before)
  })
})
