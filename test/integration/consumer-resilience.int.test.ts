import { sql } from 'drizzle-orm'
import type { Message } from 'kafkajs'
import { createEventConsumer, dlqHeader } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { deadLetterTopic } from '../../lib/events.ts'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

/**
 * What the consumer does with messages it cannot apply, on the real stack: poison goes to the
 * dead-letter topic with its coordinates, a failing handler is retried then dead-lettered, a
 * transient failure is retried until it passes, and one that outlasts the policy stops the
 * consumer without committing. Each test runs its own consumer group over the pipeline's topics.
 */
describe('consumer retries and dead letters', () => {
  const fixture = useConsumerFixture('res')
  const { kafka, admin } = fixture
  /** A topic namespace of the test's own (no connector needed: records are produced directly). */
  const namespace = async (dlqConfig: { name: string; value: string }[] = []) => {
    const ns = uniqueName('it.res').toLowerCase()
    const dlq = deadLetterTopic(ns)
    await createTopics(admin, {
      topics: [{ topic: `${ns}.book` }, { topic: dlq, configEntries: dlqConfig }],
      waitForLeaders: true,
    })
    fixture.onCleanup(() => admin.deleteTopics({ topics: [`${ns}.book`, dlq] }))
    const dead: { value: string | null; headers: Record<string, string | undefined> }[] = []
    const reader = kafka.consumer({ groupId: uniqueName('dlq-reader') })
    fixture.onCleanup(() => reader.disconnect())
    await reader.connect()
    await reader.subscribe({ topic: dlq, fromBeginning: true })
    await reader.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string | undefined> = {}
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = v?.toString()
        dead.push({ value: message.value?.toString() ?? null, headers })
      },
    })
    const consumerFor = (groupId = uniqueName('resilience'), onFatal: (error: Error) => void = () => {}) => {
      const consumer = createEventConsumer({
        kafka,
        ...orderSideOn(fixture.database.db),
        groupId,
        namespace: ns,
        log: createLogger('it', 'silent'),
        retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
        onFatal,
      })
      fixture.onCleanup(() => consumer.stop())
      return consumer
    }
    return {
      dlq,
      consumerFor,
      async startConsumer(onFatal?: (error: Error) => void) {
        const consumer = consumerFor(undefined, onFatal)
        await consumer.start()
        return consumer
      },
      async send(...messages: Message[]) {
        const producer = kafka.producer()
        await producer.connect()
        await producer.send({ topic: `${ns}.book`, messages })
        await producer.disconnect()
      },
      async deadLetterOf(eventId: string) {
        await expect
          // A restarted consumer rejoins its group and retries before it dead-letters: under CI's
          // load that has taken longer than 20 s.
          .poll(() => dead.some((d) => d.headers[dlqHeader.eventId] === eventId), { timeout: 60_000 })
          .toBe(true)
        return dead.find((d) => d.headers[dlqHeader.eventId] === eventId)
      },
    }
  }

  it('dead-letters bad JSON, an unknown event type and an invalid payload with their coordinates, and carries on', async () => {
    const { startConsumer, send, deadLetterOf } = await namespace()
    const consumer = await startConsumer()
    const badJson = eventRecord({ id: 'x' }, 'BookAdded', '{"title":')
    const unknown = eventRecord(bookPayload('x'), 'BookBurnt')
    const invalid = eventRecord({ ...bookPayload('x'), price: 'free' })
    await send(badJson, unknown, invalid, eventRecord(bookPayload('Good')))

    const first = await deadLetterOf(String(badJson.headers?.id))
    expect(first?.value).toBe('{"title":')
    expect(first?.headers).toMatchObject({
      [dlqHeader.errorCode]: 'INVALID_JSON',
      [dlqHeader.attempts]: '1',
      [dlqHeader.key]: 'x',
      event_type: 'BookAdded',
    })
    expect(first?.headers[dlqHeader.topic]).toMatch(/\.book$/)
    expect(first?.headers[dlqHeader.partition]).toMatch(/^\d+$/)
    expect(first?.headers[dlqHeader.offset]).toMatch(/^\d+$/)
    expect(Date.parse(first?.headers[dlqHeader.at] ?? '')).not.toBeNaN()
    expect((await deadLetterOf(String(unknown.headers?.id)))?.headers[dlqHeader.errorCode]).toBe(
      'UNKNOWN_EVENT_TYPE',
    )
    const invalidLetter = await deadLetterOf(String(invalid.headers?.id))
    expect(invalidLetter?.headers[dlqHeader.errorCode]).toBe('INVALID_PAYLOAD')
    expect(invalidLetter?.headers[dlqHeader.errorMessage]).toMatch(/price/)

    await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(1)
    expect(consumer.stats.deadLettered).toBe(3)
  })

  it('retries a handler that keeps failing, then dead-letters it with the number of attempts', async () => {
    const { startConsumer, send, deadLetterOf } = await namespace()
    await fixture.database.db.execute(
      sql`alter table catalogue add constraint it_cursed check (title is distinct from 'Cursed')`,
    )
    try {
      const consumer = await startConsumer()
      const cursed = eventRecord(bookPayload('Cursed'))
      await send(cursed)
      const letter = await deadLetterOf(String(cursed.headers?.id))
      expect(letter?.headers).toMatchObject({
        [dlqHeader.errorCode]: 'HANDLER_FAILED',
        [dlqHeader.attempts]: '3',
      })
      expect(letter?.headers[dlqHeader.errorMessage]).toMatch(/it_cursed/)
      expect(consumer.stats.retries).toBe(2)
    } finally {
      await fixture.database.db.execute(sql`alter table catalogue drop constraint it_cursed`)
    }
  })

  it('applies the records of a batch in one transaction; one that fails is redone alone and dead-lettered, the rest applied', async () => {
    const { startConsumer, send, deadLetterOf } = await namespace()
    const inboxTransactions = async (ids: string[]) =>
      (
        await fixture.database.db.execute<{ n: number }>(
          sql`select count(distinct xmin::text)::int as n from consumed_events where event_id in (${sql.join(
            ids.map((id) => sql`${id}`),
            sql`, `,
          )})`,
        )
      )[0]?.n
    await fixture.database.db.execute(
      sql`alter table catalogue add constraint it_cursed_batch check (title is distinct from 'Cursed batch')`,
    )
    try {
      const consumer = await startConsumer()
      const good = Array.from({ length: 20 }, (_, i) => eventRecord(bookPayload(`Batch ${i}`)))
      await send(...good)
      await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(20)
      // Twenty records, far fewer commits: they were applied together, not one by one.
      expect(await inboxTransactions(good.map((m) => String(m.headers?.id)))).toBeLessThan(5)

      const cursed = eventRecord(bookPayload('Cursed batch'))
      const more = Array.from({ length: 6 }, (_, i) => eventRecord(bookPayload(`More ${i}`)))
      // An event applied before, redelivered among new ones, is skipped and counted.
      await send(...more.slice(0, 3), cursed, good[0] as Message, ...more.slice(3))
      const letter = await deadLetterOf(String(cursed.headers?.id))
      expect(letter?.headers[dlqHeader.errorCode]).toBe('HANDLER_FAILED')
      await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(26)
      expect(consumer.stats).toMatchObject({ duplicates: 1, deadLettered: 1 })
      for (const m of more) expect(await catalogueCount(JSON.parse(String(m.value)).id)).toBe(1)
    } finally {
      await fixture.database.db.execute(sql`alter table catalogue drop constraint it_cursed_batch`)
    }
  })

  /** A trigger that fails with serialization_failure (40001) for the first `times` tries. */
  const failTransiently = async (times: number) => {
    await fixture.database.db.execute(
      sql.raw(`
      create sequence if not exists it_fail_seq;
      select setval('it_fail_seq', 1, false);
      create or replace function it_fail() returns trigger language plpgsql as $$
      begin
        if new.title = 'Flaky' and nextval('it_fail_seq') <= ${times} then
          raise exception 'simulated serialization failure' using errcode = '40001';
        end if;
        return new;
      end $$;
      drop trigger if exists it_fail on catalogue;
      create trigger it_fail before insert on catalogue for each row execute function it_fail();`),
    )
  }
  const stopFailing = () =>
    fixture.database.db.execute(sql.raw('drop trigger if exists it_fail on catalogue'))
  const catalogueCount = async (bookId: string) =>
    (
      await fixture.database.db.execute<{ n: number }>(
        sql`select count(*)::int as n from catalogue where book_id = ${bookId}`,
      )
    )[0]?.n

  it('retries a transient failure with backoff until it passes, applying the event once', async () => {
    const { startConsumer, send } = await namespace()
    await failTransiently(2)
    try {
      const consumer = await startConsumer()
      const flaky = bookPayload('Flaky')
      await send(eventRecord(flaky))
      await expect.poll(() => consumer.stats.applied, { timeout: 20_000 }).toBe(1)
      expect(consumer.stats.retries).toBe(2)
      expect(consumer.stats.deadLettered).toBe(0)
      expect(await catalogueCount(flaky.id)).toBe(1)
    } finally {
      await stopFailing()
    }
  })

  it('stops without committing when a transient failure outlasts the policy; a restart then applies it', async () => {
    const { consumerFor, send } = await namespace()
    await failTransiently(100)
    const groupId = uniqueName('fatal')
    const flaky = bookPayload('Flaky')
    let fatal: Error | undefined
    const first = consumerFor(groupId, (error) => {
      fatal = error
    })
    try {
      await first.start()
      await send(eventRecord(flaky))
      await expect.poll(() => fatal?.message, { timeout: 20_000 }).toMatch(/gave up after 3 attempts/)
      expect(first.state).toBe('failed')
      expect(first.stats.deadLettered).toBe(0)
    } finally {
      await first.stop()
      await stopFailing()
    }
    // Nothing was committed for it, so the same group picks it up again and now applies it.
    await consumerFor(groupId).start()
    await expect.poll(() => catalogueCount(flaky.id), { timeout: 20_000 }).toBe(1)
  })

  it('does not commit a poison message whose dead letter cannot be published; a restart dead-letters it', async () => {
    // The broker refuses records over 512 bytes on this dead-letter topic, so the publish fails.
    const { consumerFor, send, dlq, deadLetterOf } = await namespace([
      { name: 'max.message.bytes', value: '512' },
    ])
    const groupId = uniqueName('dlq-fails')
    const poison = eventRecord({ id: 'p' }, 'BookAdded', `{"unterminated": "${'x'.repeat(2000)}`)
    let fatal: Error | undefined
    const first = consumerFor(groupId, (error) => {
      fatal = error
    })
    await first.start()
    await send(poison)
    await expect
      .poll(() => (fatal as { code?: string } | undefined)?.code, { timeout: 20_000 })
      .toBe('DEAD_LETTER_FAILED')
    expect(first.stats.deadLettered).toBe(0)
    await first.stop()

    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: 2, name: dlq, configEntries: [{ name: 'max.message.bytes', value: '1048576' }] }],
    })
    const second = consumerFor(groupId)
    await second.start()
    expect((await deadLetterOf(String(poison.headers?.id)))?.headers[dlqHeader.errorCode]).toBe(
      'INVALID_JSON',
    )
    await expect.poll(() => second.stats.deadLettered, { timeout: 20_000 }).toBe(1)
  })
})
