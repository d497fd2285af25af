import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabase, uniqueName } from '../support.ts'

const stack = inject('stack')

describe('Postgres logical replication (what Debezium relies on)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let sql: postgres.Sql

  beforeAll(async () => {
    db = await createTestDatabase(stack.postgres.adminUrl, 'it_repl')
    sql = postgres(db.url, { max: 2, onnotice: () => {} })
    await sql`create table outbox (id uuid primary key, aggregate_type text not null, payload jsonb not null)`
    await sql`create publication outbox_pub for table outbox`
  })

  afterAll(async () => {
    await sql?.end()
    await db?.drop()
  })

  it('runs with wal_level=logical and a bound on the WAL a slot may pin', async () => {
    const [wal] = await sql<{ wal_level: string }[]>`show wal_level`
    const [keep] = await sql<{ max_slot_wal_keep_size: string }[]>`show max_slot_wal_keep_size`
    expect(wal?.wal_level).toBe('logical')
    expect(keep?.max_slot_wal_keep_size).toBe('1GB')
  })

  it('streams a committed insert through the publication over the replication protocol (pgoutput)', async () => {
    const subscriber = postgres(db.url, { publications: 'outbox_pub', max: 1, onnotice: () => {} })
    const received: { id: string; aggregate_type: string }[] = []
    const { unsubscribe } = await subscriber.subscribe('insert:outbox', (row) => {
      if (row) received.push(row as unknown as { id: string; aggregate_type: string })
    })
    try {
      const id = crypto.randomUUID()
      await sql.begin(async (tx) => {
        await tx`insert into outbox ${tx({ id, aggregate_type: 'book', payload: tx.json({ title: 'Dune' }) })}`
      })
      await expect.poll(() => received.map((row) => row.id), { timeout: 10_000 }).toContain(id)
      expect(received.find((row) => row.id === id)?.aggregate_type).toBe('book')
    } finally {
      await unsubscribe()
      await subscriber.end()
    }
  })

  it('keeps committed changes in a named pgoutput slot and never shows a rolled-back one', async () => {
    const slot = uniqueName('it_slot').toLowerCase()
    await sql`select pg_create_logical_replication_slot(${slot}, 'pgoutput')`
    try {
      const committed = crypto.randomUUID()
      const rolledBack = crypto.randomUUID()
      await sql`insert into outbox ${sql({ id: committed, aggregate_type: 'order', payload: sql.json({ n: 1 }) })}`
      await sql
        .begin(async (tx) => {
          await tx`insert into outbox ${tx({ id: rolledBack, aggregate_type: 'order', payload: tx.json({ n: 2 }) })}`
          throw new Error('roll back')
        })
        .catch(() => {})

      // pgoutput messages are binary; an insert is type 'I' and carries the row's text values.
      const changes = await sql<{ data: Buffer }[]>`
        select data from pg_logical_slot_peek_binary_changes(
          ${slot}, null, null, 'proto_version', '1', 'publication_names', 'outbox_pub')`
      const inserts = changes.filter((change) => change.data[0] === 'I'.charCodeAt(0))
      expect(inserts).toHaveLength(1)
      expect(inserts[0]?.data.includes(committed)).toBe(true)
      expect(changes.some((change) => change.data.includes(rolledBack))).toBe(false)

      const [state] = await sql`select plugin, slot_type from pg_replication_slots where slot_name = ${slot}`
      expect(state).toEqual({ plugin: 'pgoutput', slot_type: 'logical' })
    } finally {
      await sql`select pg_drop_replication_slot(${slot})`
    }
  })
})
