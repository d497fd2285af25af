import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePostgresJs } from 'drizzle-orm/postgres-js'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { z } from 'zod'
import { createTestDatabase, type TestDatabase } from '../../../test/support.ts'
import { defineEvent, defineEvents } from '../events/define.ts'
import { schemaSql } from '../schema/sql.ts'
import { appendEvent } from './append.ts'
import { drizzleExecutor, postgresJsExecutor, type SqlExecutor } from './executor.ts'

/*
 * The one append, through each executor a writer has: a raw postgres.js transaction (guarded, as
 * the consumer runtime's), Drizzle on postgres.js and Drizzle on node-postgres. What Debezium
 * sees is the WAL, so that is what is read: a test_decoding slot on this database.
 */
const stack = inject('stack')
const events = defineEvents([
  defineEvent({
    type: 'InvoiceIssued',
    aggregate: 'invoice',
    payload: z.object({ id: z.uuid(), amountCents: z.number().int() }),
    aggregateId: (p) => p.id,
  }),
])
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

let db: TestDatabase
let sql: postgres.Sql
let pool: pg.Pool
const slot = `append_${process.pid}`

interface Decoded {
  table: string
  columns: Record<string, string>
}

/** The outbox inserts the WAL holds since the last call, as test_decoding prints them. */
async function walInserts(): Promise<Decoded[]> {
  const rows = await sql<
    { data: string }[]
  >`select data from pg_logical_slot_get_changes(${slot}, null, null)`
  return rows
    .map((r) => /^table ([^:]+): INSERT: (.*)$/.exec(r.data))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, table, rest]) => ({
      table: table ?? '',
      columns: Object.fromEntries(
        [...(rest ?? '').matchAll(/(\w+)\[[^\]]+\]:('(?:[^']|'')*'|null)/g)].map(([, name, value]) => [
          name,
          value === 'null' ? 'null' : (value ?? '').slice(1, -1).replaceAll("''", "'"),
        ]),
      ),
    }))
}

const newEvent = () => events.create('InvoiceIssued', { id: crypto.randomUUID(), amountCents: 1250 })

beforeAll(async () => {
  db = await createTestDatabase(stack.postgres.adminUrl, 'append')
  sql = postgres(db.url, { max: 2, onnotice: () => {} })
  await sql.unsafe(
    schemaSql({
      outboxes: ['invoice_outbox', { schema: 'public', table: 'other_outbox' }],
      heartbeat: 'invoice_heartbeat',
      inboxes: ['invoice_inbox'],
      publication: 'invoice_publication',
    }),
  )
  await sql`select pg_create_logical_replication_slot(${slot}, 'test_decoding')`
  pool = new pg.Pool({ connectionString: db.url, max: 1 })
})

afterAll(async () => {
  await pool?.end()
  await sql?.end()
  await db?.drop()
})

type Writer = [
  name: string,
  inTransaction: (append: (executor: SqlExecutor) => Promise<void>) => Promise<void>,
]

const writers: Writer[] = [
  [
    'a raw postgres.js transaction, guarded',
    (append) =>
      sql.begin(async (tx) => {
        const [row] = await tx<{ txid: string }[]>`select txid_current()::text as txid`
        await append(postgresJsExecutor(tx, { txGuard: row?.txid ?? '' }))
      }) as Promise<void>,
  ],
  [
    'Drizzle on postgres.js',
    (append) => drizzlePostgresJs(sql).transaction((tx) => append(drizzleExecutor(tx))),
  ],
  [
    'Drizzle on node-postgres',
    (append) => drizzleNodePg(pool).transaction((tx) => append(drizzleExecutor(tx))),
  ],
]

describe.each(writers)('appendEvent through %s', (_name, inTransaction) => {
  it('puts the event in the WAL with its trace and the given time, and leaves the table empty', async () => {
    await walInserts()
    const event = newEvent()
    await inTransaction((executor) =>
      appendEvent(executor, 'invoice_outbox', event, { occurredAt: '2026-03-01T10:00:00.123Z', traceparent }),
    )
    const [insert, ...more] = await walInserts()
    expect(more).toEqual([])
    expect(insert?.table).toBe('public.invoice_outbox')
    expect(insert?.columns).toEqual({
      id: event.id,
      aggregate_type: 'invoice',
      aggregate_id: event.aggregateId,
      event_type: 'InvoiceIssued',
      payload: expect.any(String),
      created_at: '2026-03-01 10:00:00.123',
      trace_context: traceparent,
    })
    expect(JSON.parse(insert?.columns.payload ?? '')).toEqual(event.payload)
    expect(await sql`select 1 from invoice_outbox`).toHaveLength(0)
  })

  it("stamps the database's transaction time when no time is given, and no trace", async () => {
    await walInserts()
    const clock = async () =>
      (
        await sql<
          { at: string }[]
        >`select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US') as at`
      )[0]?.at ?? ''
    const before = await clock()
    await inTransaction((executor) =>
      appendEvent(executor, { schema: 'public', table: 'other_outbox' }, newEvent()),
    )
    const after = await clock()
    const [insert] = await walInserts()
    expect(insert?.table).toBe('public.other_outbox')
    expect(insert?.columns.trace_context).toBe('null')
    // The database's clock, read before and after the transaction, brackets the stamp.
    const [within] = await sql<{ ok: boolean }[]>`
      select ${insert?.columns.created_at ?? ''}::timestamp between ${before}::timestamp and ${after}::timestamp as ok`
    expect(within?.ok).toBe(true)
  })

  it('keeps an occurredAt as written, microseconds and offset included, whatever the session time zone', async () => {
    await walInserts()
    await inTransaction(async (executor) => {
      // The writer's session in another zone must not move the stamp.
      await executor.run('set_zone', "set local time zone 'America/New_York'", [])
      await appendEvent(executor, 'invoice_outbox', newEvent(), {
        occurredAt: '2026-03-01T12:00:00.123456+02:00',
      })
    })
    const [insert] = await walInserts()
    expect(insert?.columns.created_at).toBe('2026-03-01 10:00:00.123456')
  })

  it('writes nothing when the transaction rolls back', async () => {
    await walInserts()
    await expect(
      inTransaction(async (executor) => {
        await appendEvent(executor, 'invoice_outbox', newEvent())
        throw new Error('the domain write failed')
      }),
    ).rejects.toThrow('the domain write failed')
    expect(await walInserts()).toEqual([])
  })

  it('runs as prepared statements on the connection', async () => {
    await inTransaction(async (executor) => {
      await appendEvent(executor, 'invoice_outbox', newEvent())
      const probe = await executor.run(
        'probe_prepared',
        `select count(*)::int as n from pg_prepared_statements where statement like 'insert into "invoice_outbox"%'`,
        [],
      )
      const rows = Array.isArray(probe) ? probe : (probe as { rows: unknown[] }).rows
      expect((rows[0] as { n: number }).n).toBeGreaterThanOrEqual(1)
    })
  })
})

describe('appendEvent, guarded', () => {
  it('writes nothing on a connection whose transaction is not the guarded one', async () => {
    await walInserts()
    // A guard from another transaction: what a statement sent on a replaced connection carries.
    const [stale] = await sql<{ txid: string }[]>`select txid_current()::text as txid`
    await sql.begin(async (tx) => {
      await appendEvent(postgresJsExecutor(tx, { txGuard: stale?.txid ?? '' }), 'invoice_outbox', newEvent())
    })
    expect(await walInserts()).toEqual([])
  })

  it('refuses a table name that is not a plain identifier, before any SQL runs', async () => {
    await sql.begin(async (tx) => {
      await expect(
        appendEvent(postgresJsExecutor(tx), 'outbox; drop table invoice_inbox', newEvent()),
      ).rejects.toMatchObject({ code: 'INVALID_OPTION' })
    })
    expect(await sql`select 1 from invoice_inbox`).toHaveLength(0)
  })
})
