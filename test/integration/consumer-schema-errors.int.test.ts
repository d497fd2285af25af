import { sql } from 'drizzle-orm'
import { createEventConsumer } from 'outbox-cdc'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { type Database, openDatabase } from '../../db/client.ts'
import { deadLetterTopic } from '../../lib/events.ts'
import { createLogger } from '../../lib/logger.ts'
import { bookPayload, eventRecord, useConsumerFixture } from '../consumer-fixture.ts'
import { orderSideOn } from '../order-side.ts'
import { createTopics, uniqueName } from '../support.ts'

/**
 * A deploy whose code runs before its migration, or whose database role misses a grant, fails
 * every event alike: that is the database, not the event. The consumer must stop without
 * committing and without dead-lettering, and once the schema or grant is fixed a restart applies
 * the event, once.
 */
describe('a consumer whose database is missing a table or a grant', () => {
  const fixture = useConsumerFixture('schema-err', { poolMax: 3 })
  const { kafka, admin } = fixture

  const namespace = async () => {
    const ns = uniqueName('it.schema').toLowerCase()
    await createTopics(admin, {
      topics: [{ topic: `${ns}.book` }, { topic: deadLetterTopic(ns) }],
      waitForLeaders: true,
    })
    fixture.onCleanup(() => admin.deleteTopics({ topics: [`${ns}.book`, deadLetterTopic(ns)] }))
    return ns
  }
  const consumerFor = (ns: string, groupId: string, database: Database, onFatal?: (e: Error) => void) => {
    const consumer = createEventConsumer({
      kafka,
      ...orderSideOn(database.db),
      groupId,
      namespace: ns,
      log: createLogger('it', 'silent'),
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      batchSize: 1,
      ...(onFatal ? { onFatal } : {}),
    })
    fixture.onCleanup(() => consumer.stop())
    return consumer
  }
  const send = async (ns: string, payload: ReturnType<typeof bookPayload>) => {
    const producer = kafka.producer()
    await producer.connect()
    const record = eventRecord(payload)
    await producer.send({ topic: `${ns}.book`, messages: [record] })
    await producer.disconnect()
    return String(record.headers?.id)
  }
  const deadLetters = async (ns: string) =>
    (await admin.fetchTopicOffsets(deadLetterTopic(ns))).reduce((sum, p) => sum + Number(p.high), 0)
  const count = async (table: 'catalogue' | 'consumed_events', column: string, value: string) =>
    (
      await fixture.database.db.execute<{ n: number }>(
        sql`select count(*)::int as n from ${sql.identifier(table)} where ${sql.identifier(column)} = ${value}`,
      )
    )[0]?.n

  /**
   * Starts a consumer on `database` while the database is broken, sends one good event, and
   * checks it is neither applied nor dead-lettered and the consumer stopped; then `repair`s and
   * starts the same group again: the event is applied once.
   */
  const stopsThenAppliesAfterRepair = async (database: Database, repair: () => Promise<unknown>) => {
    const ns = await namespace()
    const groupId = uniqueName('schema-err')
    let fatal: (Error & { code?: string }) | undefined
    const first = consumerFor(ns, groupId, database, (error) => {
      fatal = error
    })
    await first.start()
    const book = bookPayload('Before its migration')
    const eventId = await send(ns, book)
    await expect
      .poll(() => fatal !== undefined || first.stats.deadLettered > 0, { timeout: 30_000 })
      .toBe(true)
    expect(first.stats.deadLettered).toBe(0)
    expect(fatal?.code).toBe('DATABASE_UNAVAILABLE')
    expect(first.state).toBe('failed')
    await first.stop()
    expect(await deadLetters(ns)).toBe(0)

    await repair()
    const second = consumerFor(ns, groupId, database)
    await second.start()
    await expect.poll(() => count('catalogue', 'book_id', book.id), { timeout: 30_000 }).toBe(1)
    expect(await count('consumed_events', 'event_id', eventId)).toBe(1)
    // The counters move after the commit returns, so the row can be seen a moment before them.
    await expect.poll(() => second.stats.applied, { timeout: 10_000 }).toBe(1)
    expect(second.stats.deadLettered).toBe(0)
    expect(await deadLetters(ns)).toBe(0)
  }

  it('stops uncommitted, dead-letters nothing, while its inbox table is missing (code before its migration); applies the event once after', async () => {
    await fixture.database.db.execute(sql`alter table consumed_events rename to consumed_events_later`)
    try {
      await stopsThenAppliesAfterRepair(fixture.database, () =>
        fixture.database.db.execute(sql`alter table consumed_events_later rename to consumed_events`),
      )
    } finally {
      await fixture.database.db.execute(
        sql.raw(
          "do $$ begin if to_regclass('consumed_events_later') is not null then alter table consumed_events_later rename to consumed_events; end if; end $$",
        ),
      )
    }
  })

  it('stops uncommitted, dead-letters nothing, while its role lacks a grant on the inbox; applies the event once after the grant', async () => {
    const role = uniqueName('it_nogrant').toLowerCase()
    const password = crypto.randomUUID()
    const owner = postgres(fixture.db.url, { max: 1, onnotice: () => {} })
    await owner.unsafe(`create role ${role} login password '${password}'`)
    await owner.unsafe(`grant connect on database ${fixture.db.name} to ${role}`)
    await owner.unsafe(`grant usage on schema public to ${role}`)
    await owner.unsafe(`grant select, insert, update, delete on all tables in schema public to ${role}`)
    await owner.unsafe(`grant usage, select on all sequences in schema public to ${role}`)
    await owner.unsafe(`revoke insert on consumed_events from ${role}`)
    const url = new URL(fixture.db.url)
    url.username = role
    url.password = password
    const asRole = openDatabase(url.toString(), { max: 2 })
    try {
      await stopsThenAppliesAfterRepair(asRole, () =>
        owner.unsafe(`grant insert on consumed_events to ${role}`),
      )
    } finally {
      await asRole.close()
      await owner.unsafe(`drop owned by ${role}`)
      await owner.unsafe(`drop role ${role}`)
      await owner.end()
    }
  })
})
