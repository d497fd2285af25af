import { connectPostgres } from 'outbox-cdc'
import type postgres from 'postgres'
import { describe, expect, inject, it } from 'vitest'
import { migrateDatabase } from '../../db/migrate.ts'
import { createTestDatabase } from '../support.ts'

const stack = inject('stack')
// The indexes migrations 0010 and 0011 build, which their comments say to build first concurrently.
const doctorIndexes = [
  'orders_created_at_idx',
  'orders_cancelled_at_idx',
  'shipments_created_at_idx',
  'orders_placed_created_at_idx',
]

/**
 * A fresh database migrated to the end, with 0010 and 0011 then taken off the migrations' journal:
 * their indexes are there, as if built by hand beforehand, and `migrate` runs those two again.
 */
async function withIndexesBuiltBeforehand(
  test: (sql: postgres.Sql, migrate: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const db = await createTestDatabase(stack.postgres.adminUrl, 'it_migrations')
  const sql = connectPostgres(db.url, { max: 1, onnotice: () => {} })
  try {
    await migrateDatabase(db.url)
    const forgotten = await sql`
      delete from drizzle.__drizzle_migrations
      where id in (select id from drizzle.__drizzle_migrations order by created_at desc limit 2)
      returning 1`
    expect(forgotten).toHaveLength(2)
    await test(sql, () => migrateDatabase(db.url))
  } finally {
    await sql.end()
    await db.drop()
  }
}

describe('db:migrate on a database where the indexes were built beforehand, as docs/production.md advises', () => {
  it('keeps an index already built concurrently under its name, building nothing in its place', async () => {
    await withIndexesBuiltBeforehand(async (sql, migrate) => {
      const oids = async () =>
        sql<{ name: string; oid: number }[]>`
          select c.relname as name, c.oid::int as oid from pg_class c where c.relname = any(${doctorIndexes})
          order by c.relname`
      const builtBefore = await oids()
      expect(builtBefore.map((r) => r.name)).toEqual([...doctorIndexes].sort())
      await migrate()
      expect(await oids()).toEqual(builtBefore)
    })
  })
})

describe('db:migrate on a database where a concurrent index build was interrupted', () => {
  it('builds again an index left invalid under the name a migration creates, instead of keeping it', async () => {
    await withIndexesBuiltBeforehand(async (sql, migrate) => {
      // As an interrupted `create index concurrently` leaves them: present and invalid.
      for (const name of doctorIndexes)
        await sql`update pg_index set indisvalid = false where indexrelid = to_regclass(${name})`
      await migrate()
      const rows = await sql<{ name: string; valid: boolean }[]>`
        select c.relname as name, i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
        where c.relname = any(${doctorIndexes}) order by c.relname`
      expect(rows).toEqual([...doctorIndexes].sort().map((name) => ({ name, valid: true })))
    })
  })
})
