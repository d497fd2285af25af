import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/support.ts'
import { schemaSql } from '../schema/sql.ts'
import { listParkedKeys, postgresParkedLetters } from './parked-letters.ts'

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
  })
})
