import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/support.ts'
import { schemaSql } from './sql.ts'

const stack = inject('stack')
let db: TestDatabase
let sql: postgres.Sql

beforeAll(async () => {
  db = await createTestDatabase(stack.postgres.adminUrl, 'schemasql')
  sql = postgres(db.url, { max: 1, onnotice: () => {} })
})

afterAll(async () => {
  await sql?.end()
  await db?.drop()
})

describe('schemaSql on a real Postgres', () => {
  it('creates tables in their own schema, runs twice, and puts an existing publication on inserts only', async () => {
    // Made before, as Debezium would make it with its default: publishing deletes too.
    await sql`create table early (id int primary key)`
    await sql`create publication svc_pub for table early`
    const options = {
      outboxes: [{ schema: 'svc', table: 'outbox' }],
      heartbeat: { schema: 'svc', table: 'heartbeat' },
      inboxes: [{ schema: 'svc', table: 'inbox' }],
      publication: 'svc_pub',
      replicationRole: 'outbox_cdc',
    }
    await sql.unsafe(schemaSql(options))
    await sql.unsafe(schemaSql(options))
    const [publication] = await sql<{ pubinsert: boolean; pubdelete: boolean; pubupdate: boolean }[]>`
      select pubinsert, pubdelete, pubupdate from pg_publication where pubname = 'svc_pub'`
    expect(publication).toEqual({ pubinsert: true, pubdelete: false, pubupdate: false })
    const published = await sql<{ t: string }[]>`
      select schemaname || '.' || tablename as t from pg_publication_tables where pubname = 'svc_pub' order by 1`
    expect(published.map((r) => r.t)).toEqual(['public.early', 'svc.heartbeat', 'svc.outbox'])
    const [usage] = await sql<
      { ok: boolean }[]
    >`select has_schema_privilege('outbox_cdc', 'svc', 'usage') as ok`
    expect(usage?.ok).toBe(true)
  })
})
