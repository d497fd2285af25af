import { logLevel } from 'kafkajs'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/support.ts'
import { parkedKeysFinding } from '../doctor/parked-keys.ts'
import { createKafka } from '../kafka/client.ts'
import { schemaSql } from '../schema/sql.ts'
import { listParkedKeys, postgresParkedLetters, releaseParkedKey } from './parked-letters.ts'

const stack = inject('stack')
let db: TestDatabase
let sql: postgres.Sql

beforeAll(async () => {
  db = await createTestDatabase(stack.postgres.adminUrl, 'parked')
  sql = postgres(db.url, { max: 2, onnotice: () => {} })
  // Two services' inboxes in two schemas, as one schemaSql (or migration) call makes them.
  await sql.unsafe(
    schemaSql({
      outboxes: [{ schema: 'billing', table: 'outbox' }],
      heartbeat: { schema: 'billing', table: 'heartbeat' },
      inboxes: [
        { schema: 'billing', table: 'inbox' },
        { schema: 'shipping', table: 'inbox' },
      ],
      publication: 'parked_pub',
    }),
  )
})
afterAll(async () => {
  await sql?.end()
  await db?.drop()
})

const letter = (eventId: string, offset: number, behind: string | null = null) => ({
  eventId,
  key: 'inv-1',
  originalOffset: BigInt(offset),
  behind,
})

describe('the parked letters in Postgres', () => {
  it('are kept beside each inbox, so a consumer of either finds its table where it looks by default', async () => {
    for (const schema of ['billing', 'shipping']) {
      const store = postgresParkedLetters(sql, {
        table: { schema, table: 'outbox_cdc_parked_letters' },
        inbox: { schema, table: 'inbox' },
        group: `${schema}-group`,
      })
      await store.add('t', letter('a', 1))
      expect((await store.load('t', ['inv-1'])).get('inv-1')?.map((l) => l.eventId)).toEqual(['a'])
    }
  })

  it('give a key back in the order its letters were parked, even when a later one stood at a lower offset', async () => {
    const table = { schema: 'billing', table: 'outbox_cdc_parked_letters' }
    const store = postgresParkedLetters(sql, {
      table,
      inbox: { schema: 'billing', table: 'inbox' },
      group: 'g',
    })
    await store.add('t', letter('head', 1_000_000))
    await store.add('t', letter('next', 1_000_001, 'head'))
    // Partitions were added: the key's next event stood on another partition, at offset 7.
    await store.add('t', letter('moved', 7, 'head'))
    await store.add('t', letter('head', 1_000_000))
    expect((await store.load('t', ['inv-1'])).get('inv-1')?.map((l) => l.eventId)).toEqual([
      'head',
      'next',
      'moved',
    ])
    expect(await listParkedKeys(sql, table, 'g')).toMatchObject([{ key: 'inv-1', head: 'head', waiting: 2 }])
    await store.release('head')
    expect(await listParkedKeys(sql, table, 'g')).toMatchObject([{ key: 'inv-1', head: 'next', waiting: 1 }])
    // A letter behind a head released meanwhile is not recorded: the key is free.
    expect(await store.add('t', letter('late', 5, 'head'))).toBe(false)
    expect(await store.add('t', letter('later', 6, 'next'))).toBe(true)
    expect((await store.load('t', ['inv-1'])).get('inv-1')?.map((l) => l.eventId)).toEqual([
      'next',
      'moved',
      'later',
    ])
  })

  it('a key can be let go by hand, and the doctor warns while one is held and fails once it outlived its letters', async () => {
    const table = { schema: 'billing', table: 'outbox_cdc_parked_letters' }
    const store = postgresParkedLetters(sql, {
      table,
      inbox: { schema: 'billing', table: 'inbox' },
      group: 'stuck',
    })
    await store.add('t', letter('s1', 1))
    await store.add('t', letter('s2', 2, 's1'))

    const kafka = createKafka({
      brokers: stack.kafka.brokers,
      clientId: 'it-parked',
      logLevel: logLevel.NOTHING,
    })
    const admin = kafka.admin()
    await admin.connect()
    const dlq = `it-parked-${crypto.randomUUID()}-dlq`
    try {
      const t = { deadLetters: { topic: dlq, redriveGroup: 'stuck-dlq-redrive' } }
      const consumer = { group: 'stuck' }
      await admin.createTopics({
        topics: [
          { topic: dlq, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        ],
      })
      expect(await parkedKeysFinding(sql, admin, consumer, table, t)).toMatchObject({
        check: 'consumer.parked-keys',
        severity: 'warn',
      })
      // The letters are kept for less time than the key has been held: its first letter may be gone.
      await sql.unsafe(
        `update billing.outbox_cdc_parked_letters set parked_at = now() - interval '2 hours' where group_id = 'stuck'`,
      )
      const stuck = await parkedKeysFinding(sql, admin, consumer, table, t)
      expect(stuck).toMatchObject({ severity: 'fail' })
      expect(stuck?.hint).toContain('dlq release --group stuck --key <key>')

      // Without the dead-letter topic the letters are gone for certain.
      const gone = await parkedKeysFinding(sql, admin, consumer, table, {
        deadLetters: { topic: `${dlq}-deleted`, redriveGroup: 'x' },
      })
      expect(gone).toMatchObject({ severity: 'fail' })
      expect(gone?.detail).toMatch(/does not exist/)
      expect(await releaseParkedKey(sql, table, { group: 'stuck', key: 'inv-1' })).toBe(2)
      expect(await listParkedKeys(sql, table, 'stuck')).toEqual([])
      expect(await parkedKeysFinding(sql, admin, consumer, table, t)).toMatchObject({ severity: 'ok' })
      // A group that keeps no table (order not kept): nothing to say.
      expect(await parkedKeysFinding(sql, admin, consumer, 'no_such_table', t)).toBeUndefined()
    } finally {
      await admin.deleteTopics({ topics: [dlq] }).catch(() => {})
      await admin.disconnect()
    }
  })
})
