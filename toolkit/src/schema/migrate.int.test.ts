import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createTestDatabase, type TestDatabase } from '../../../test/support.ts'
import { OptionsError } from '../errors.ts'
import { MigrationError, migrateToolkitSchema, type ToolkitMigration, toolkitMigrations } from './migrate.ts'
import { type SchemaOptions, schemaSql } from './sql.ts'

const stack = inject('stack')
let db: TestDatabase
let sql: postgres.Sql

beforeAll(async () => {
  db = await createTestDatabase(stack.postgres.adminUrl, 'migrate')
  sql = postgres(db.url, { max: 6, onnotice: () => {} })
})

afterAll(async () => {
  await sql?.end()
  await db?.drop()
})

const service = (schema: string, publication = `${schema}_pub`): SchemaOptions => ({
  outboxes: [{ schema, table: 'outbox' }],
  heartbeat: { schema, table: 'heartbeat' },
  inboxes: [{ schema, table: 'inbox' }],
  publication,
})

// A change of a later release, as one would be written: a no-op where it is already there.
const addNote: ToolkitMigration = {
  version: 2,
  name: 'inbox note',
  sql: (o) =>
    o.inboxes
      .map(
        (t) =>
          `alter table "${(t as { schema: string }).schema}"."${(t as { table: string }).table}" add column if not exists note text;`,
      )
      .join('\n'),
}
const broken: ToolkitMigration = {
  version: 3,
  name: 'broken',
  sql: () => 'alter table no_such_table add column x int;',
}

async function columns(schema: string, table: string): Promise<string[]> {
  const rows = await sql<{ column_name: string }[]>`
    select column_name from information_schema.columns where table_schema = ${schema} and table_name = ${table} order by ordinal_position`
  return rows.map((r) => r.column_name)
}

async function versions(schema: string, publication: string): Promise<number[]> {
  const rows = await sql.unsafe<{ version: number }[]>(
    `select version from "${schema}".outbox_cdc_schema where publication = $1 order by version`,
    [publication],
  )
  return rows.map((r) => r.version)
}

describe('migrateToolkitSchema on a real Postgres', () => {
  it("brings a 0.1.0 schema to this package's: the inbox's last_offset and position index, the horizon and parked-letters tables", async () => {
    // 0.1.0's inbox, as its schemaSql made it, with a row in it.
    await sql.unsafe(`
      create schema old;
      create table old.outbox (id uuid primary key, aggregate_type text not null, aggregate_id text not null,
        event_type text not null, payload jsonb not null, created_at timestamp(6) not null, trace_context text);
      create table old.heartbeat (beat_at timestamptz not null default now());
      create table old.inbox (event_id uuid primary key, event_type text not null, topic text not null,
        partition integer not null, kafka_offset bigint not null,
        consumed_at timestamptz not null default clock_timestamp(), occurred_at timestamptz,
        redeliveries integer not null default 0);
      insert into old.inbox (event_id, event_type, topic, partition, kafka_offset)
        values (gen_random_uuid(), 'Noted', 't', 0, 1);`)
    const result = await migrateToolkitSchema(sql, service('old'))
    expect(result).toEqual({ from: 1, to: 3, applied: [2, 3] })
    expect(toolkitMigrations.map((m) => m.version)).toEqual([2, 3])
    expect(await columns('old', 'inbox')).toContain('last_offset')
    const [index] = await sql<{ def: string }[]>`
      select indexdef as def from pg_indexes where schemaname = 'old' and indexname = 'inbox_position_idx'`
    expect(index?.def).toMatch(/\(topic, partition, kafka_offset\)/)
    expect(await columns('old', 'outbox_cdc_inbox_horizon')).toEqual([
      'inbox',
      'topic',
      'partition',
      'below_offset',
      'pruned_before',
      'pruned_at',
    ])
    expect(await columns('old', 'outbox_cdc_parked_letters')).toEqual([
      'seq',
      'group_id',
      'event_id',
      'topic',
      'key',
      'original_offset',
      'behind',
      'parked_at',
    ])
    const [kept] = await sql<
      { n: number }[]
    >`select count(*)::int as n from old.inbox where last_offset is null`
    expect(kept?.n).toBe(1)
  })

  it('makes a new schema current, records it, and finds nothing to do the second time', async () => {
    const first = await migrateToolkitSchema(sql, service('fresh'), [addNote])
    expect(first).toEqual({ from: 0, to: 2, applied: [1, 2] })
    expect(await columns('fresh', 'outbox')).toContain('trace_context')
    expect(await versions('fresh', 'fresh_pub')).toEqual([1, 2])
    expect(await migrateToolkitSchema(sql, service('fresh'), [addNote])).toEqual({
      from: 2,
      to: 2,
      applied: [],
    })
  })

  it('adopts a schema made by schemaSql before migrations, then applies only the later changes', async () => {
    await sql.unsafe(schemaSql(service('adopted')))
    expect(await columns('adopted', 'inbox')).not.toContain('note')
    expect(await migrateToolkitSchema(sql, service('adopted'), [])).toEqual({ from: 1, to: 1, applied: [] })
    expect(await migrateToolkitSchema(sql, service('adopted'), [addNote])).toEqual({
      from: 1,
      to: 2,
      applied: [2],
    })
    expect(await columns('adopted', 'inbox')).toContain('note')
    expect(await versions('adopted', 'adopted_pub')).toEqual([1, 2])
  })

  it('applies nothing when one change fails, and says which', async () => {
    await migrateToolkitSchema(sql, service('failing'), [])
    const error = await migrateToolkitSchema(sql, service('failing'), [addNote, broken]).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(MigrationError)
    expect(error).toMatchObject({ code: 'MIGRATION_FAILED', retryable: false })
    expect((error as Error).message).toMatch(/migration 3 \(broken\)/)
    expect(await columns('failing', 'inbox')).not.toContain('note')
    expect(await versions('failing', 'failing_pub')).toEqual([1])
  })

  it('refuses a schema newer than the package and changes nothing', async () => {
    // A release after this one added version 4 (a later package's list: this one's, then that).
    await migrateToolkitSchema(sql, service('newer'), [...toolkitMigrations, { ...addNote, version: 4 }])
    const before = await columns('newer', 'inbox')
    const error = await migrateToolkitSchema(sql, {
      ...service('newer'),
      inboxes: [{ schema: 'newer', table: 'second' }],
    }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'SCHEMA_NEWER_THAN_PACKAGE' })
    expect((error as Error).message).toMatch(/version 4, newer than this package knows \(3\)/)
    expect(await columns('newer', 'inbox')).toEqual(before)
    expect(await columns('newer', 'second')).toEqual([])
  })

  it('applies once when replicas start together', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => migrateToolkitSchema(sql, service('together'), [addNote])),
    )
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, 2])
    expect(await versions('together', 'together_pub')).toEqual([1, 2])
  })

  it('keeps two services in one history apart, and makes an inbox named later in the current shape', async () => {
    const shared = { schema: 'shared', table: 'history' }
    await migrateToolkitSchema(sql, { ...service('svc_a'), history: shared }, [addNote])
    const b = await migrateToolkitSchema(sql, { ...service('svc_b'), history: shared }, [addNote])
    expect(b.applied).toEqual([1, 2])
    expect(await columns('svc_b', 'outbox')).toContain('aggregate_id')
    const grown = {
      ...service('svc_a'),
      history: shared,
      inboxes: [
        { schema: 'svc_a', table: 'inbox' },
        { schema: 'svc_a', table: 'later' },
      ],
    }
    expect((await migrateToolkitSchema(sql, grown, [addNote])).applied).toEqual([])
    expect(await columns('svc_a', 'later')).toContain('redeliveries')
  })

  it('refuses a bad name before it touches the database', async () => {
    const bad = { ...service('badname'), inboxes: [{ schema: 'badname', table: 'inbox; drop table x' }] }
    await expect(migrateToolkitSchema(sql, bad)).rejects.toBeInstanceOf(OptionsError)
    const [found] = await sql<
      { n: number }[]
    >`select count(*)::int as n from pg_namespace where nspname = 'badname'`
    expect(found?.n).toBe(0)
  })

  it('adopts a schemaSql-made schema whichever table the options name first, and alters a table named in the same deploy', async () => {
    await sql.unsafe(schemaSql(service('reordered')))
    const grown = {
      ...service('reordered'),
      outboxes: [
        { schema: 'reordered', table: 'outbox2' },
        { schema: 'reordered', table: 'outbox' },
      ],
      inboxes: [
        { schema: 'reordered', table: 'inbox' },
        { schema: 'reordered', table: 'inbox_new' },
      ],
    }
    expect(await migrateToolkitSchema(sql, grown, [addNote])).toEqual({ from: 1, to: 2, applied: [2] })
    expect(await columns('reordered', 'inbox')).toContain('note')
    expect(await columns('reordered', 'inbox_new')).toContain('note')
  })
})
