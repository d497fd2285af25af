import { readFileSync } from 'node:fs'
import type { Kafka, KafkaMessage } from 'kafkajs'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { OptionsError } from '../errors.ts'
import { defineEvent, defineEvents } from '../events/define.ts'
import { silentLogger } from '../logger.ts'
import { applyBatch, applyEvent, defineInboxApp, type InboxApp, type Refusal } from './apply-event.ts'
import { createEventConsumer } from './event-consumer.ts'
import { handleBatch } from './handle-batch.ts'
import type { IncomingEvent } from './incoming-event.ts'
import { createConsumerMetrics } from './metrics.ts'
import { processMessage } from './process-message.ts'

/*
 * The consumer runtime as a service sets it up: its own postgres.js client (with its own
 * transform), several inboxes in one database, its refusal callback, its retry policy. Each test
 * guards a way the runtime once went wrong when it moved into the toolkit. The database is a recording fake of postgres.js: tagged templates, sql(identifier),
 * sql.array, begin() with commit/rollback and txid_status, and postgres.js's `transform` option
 * applied the way the real client applies it (column.from to result columns, column.to to
 * identifiers: node_modules/postgres/src/connection.js and types.js).
 */

type Transform = { column?: { from?: (name: string) => string; to?: (name: string) => string } }

function fakePostgres(options: { transform?: Transform } = {}) {
  const committedInbox = new Set<string>()
  const statuses = new Map<string, string>()
  const statements: { text: string; params: unknown[] }[] = []
  let nextTx = 100
  const out = (rows: Record<string, unknown>[]) =>
    rows.map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([k, v]) => [
          options.transform?.column?.from ? options.transform.column.from(k) : k,
          v,
        ]),
      ),
    )
  type Tx = { id: string; pending: Set<string> }
  const run = async (text: string, params: unknown[], tx: Tx | null) => {
    statements.push({ text, params })
    if (text.includes('select txid_current()::text as tx')) return out([{ tx: tx?.id }])
    if (text.includes('with recorded as')) {
      const ids = (params[1] as { array: string[] }).array
      const held = ids.filter((id) => committedInbox.has(id) || tx?.pending.has(id))
      for (const id of ids) tx?.pending.add(id)
      return out(held.map((event_id) => ({ event_id })))
    }
    if (text.includes('txid_status')) return out([{ status: statuses.get(String(params[0])) ?? null }])
    if (text.includes('select txid_current() = ')) return out([{ same: true }])
    return []
  }
  const make = (tx: Tx | null) => {
    const sql = ((first: unknown, ...values: unknown[]) => {
      if (Array.isArray(first) && 'raw' in first) {
        // A pending query, as postgres.js returns it: awaitable, or read by position with values().
        const rows = run((first as string[]).join('$?'), values, tx)
        return Object.assign(rows, {
          values: async () => (await rows).map((row) => Object.values(row as Record<string, unknown>)),
        })
      }
      const to = options.transform?.column?.to
      const name = String(first)
      return { identifier: `"${(to ? to(name) : name).replace(/"/g, '""').replace(/\./g, '"."')}"` }
    }) as unknown as postgres.Sql & { array: unknown; begin: unknown }
    ;(sql as { array: unknown }).array = (xs: unknown[]) => ({ array: xs })
    // A fragment of text the caller built itself (here: a quoted name), passed through as it is.
    ;(sql as { unsafe: unknown }).unsafe = (text: string) => ({ unsafe: text })
    return sql
  }
  const client = make(null)
  ;(client as { begin: unknown }).begin = async (body: (sql: unknown) => Promise<unknown>) => {
    const tx: Tx = { id: String(nextTx++), pending: new Set() }
    try {
      const result = await body(make(tx))
      for (const id of tx.pending) committedInbox.add(id)
      statuses.set(tx.id, 'committed')
      return result
    } catch (error) {
      statuses.set(tx.id, 'aborted')
      throw error
    }
  }
  return { client: client as postgres.Sql, statements, committedInbox }
}

const things = defineEvents(
  [
    defineEvent({
      type: 'ThingHappened',
      aggregate: 'thing',
      payload: z.object({ id: z.string() }),
      aggregateId: (p) => p.id,
    }),
  ],
  { namespace: 'things.events' },
)
const ids = ['6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c01', '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c02']

const incoming = (id: string, offset: string): IncomingEvent => ({
  topic: 'things.events.thing',
  partition: 0,
  offset,
  key: 'k',
  headers: { id, event_type: 'ThingHappened' },
  value: JSON.stringify({ id: 'thing-1' }),
  timestamp: String(Date.now()),
})
const kafkaMessage = (id: string, offset: string): KafkaMessage =>
  ({
    key: Buffer.from('k'),
    value: Buffer.from(JSON.stringify({ id: 'thing-1' })),
    headers: { id: Buffer.from(id), event_type: Buffer.from('ThingHappened') },
    offset,
    timestamp: String(Date.now()),
    attributes: 0,
  }) as unknown as KafkaMessage

const quick = { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 }
const partition = (messages: KafkaMessage[]) => ({
  batch: { topic: 'things.events.thing', partition: 0, messages },
  resolveOffset: () => {},
  heartbeat: async () => {},
  isRunning: () => true,
  isStale: () => false,
  commitOffsetsIfNecessary: async () => {},
})

describe('the consumer runtime as a service sets it up', () => {
  it('skips a redelivered event on a postgres.js client created with transform: postgres.camel', async () => {
    // A common postgres.js setup: the service's own client, which createEventConsumer is given as `sql`.
    const db = fakePostgres({ transform: postgres.camel })
    let handled = 0
    const app = defineInboxApp({
      registry: things,
      inbox: { schema: 'billing', table: 'inbox' },
      handlers: {
        ThingHappened: async () => {
          handled += 1
        },
      },
    })
    expect(await applyEvent(db.client, incoming(ids[0] as string, '1'), app)).toBe('applied')
    // Kafka redelivers the same record (a crash before the offset commit).
    expect(await applyEvent(db.client, incoming(ids[0] as string, '1'), app)).toBe('duplicate')
    expect(handled).toBe(1)
  })

  it('two apps with different inboxes in one database never take the same advisory lock', async () => {
    const db = fakePostgres()
    const appOf = (inbox: string) =>
      defineInboxApp({
        registry: things,
        inbox,
        handlers: { ThingHappened: async () => {} },
        lockKey: { ThingHappened: (p) => p.id },
      })
    await applyEvent(db.client, incoming(ids[0] as string, '1'), appOf('orders_inbox'))
    await applyEvent(db.client, incoming(ids[1] as string, '2'), appOf('invoices_inbox'))
    const locks = db.statements.filter((s) => s.text.includes('pg_advisory_xact_lock'))
    expect(locks).toHaveLength(2)
    // Same statement, same key space (7), same keys: each app's batches take turns with the other's.
    expect(JSON.stringify(locks[0])).not.toBe(JSON.stringify(locks[1]))
  })

  it('a committed batch whose refusal callback throws is counted applied, not rolled back and re-applied as duplicates', async () => {
    const db = fakePostgres()
    const app = defineInboxApp({
      registry: things,
      inbox: 'inbox',
      handlers: {
        ThingHappened: async (_sql, _tx, payloads) => ({
          refused: payloads.map(() => ({ eventType: 'ThingHappened', from: 'closed' })),
        }),
      },
    })
    const seen: Refusal[] = []
    const onRefused = (r: Refusal) => {
      seen.push(r)
      throw new Error('a bug in the service’s onRefused (or the runtime’s own, on a refusal of null)')
    }
    const metrics = createConsumerMetrics()
    const stats = { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 }
    await handleBatch(
      {
        batchSize: 2,
        retry: quick,
        deadLetterTopic: 'things.events-dlq',
        applyBatch: (records) => applyBatch(db.client, records, app, onRefused),
        applyEvent: (record) => applyEvent(db.client, record, app, onRefused),
        publishDeadLetter: async () => {},
        hasFailed: () => false,
        onFatal: () => {},
        log: silentLogger,
        stats,
        metrics,
      },
      partition([kafkaMessage(ids[0] as string, '1'), kafkaMessage(ids[1] as string, '2')]),
    )
    expect(db.committedInbox.size).toBe(2)
    expect((await metrics.batchFallbacks.get()).values[0]?.value ?? 0).toBe(0)
    expect(stats).toMatchObject({ applied: 2, duplicates: 0 })
    expect(seen).toHaveLength(2)
  })

  it('every refusal reported is an object naming its handler’s event type and a from, whatever the handler returned', async () => {
    for (const returned of [{ refused: 'late' }, { refused: [{ reason: 'late' }] }]) {
      const db = fakePostgres()
      const app = defineInboxApp({
        registry: things,
        inbox: 'inbox',
        handlers: { ThingHappened: async () => returned as never },
      })
      const reported: unknown[] = []
      await applyEvent(db.client, incoming(ids[0] as string, '1'), app, (r) => void reported.push(r))
      for (const r of reported)
        expect(r).toMatchObject({ eventType: 'ThingHappened', from: expect.any(String) })
      expect(reported.length).toBeLessThanOrEqual(1)
    }
  })

  it('createEventConsumer refuses an app whose inbox is not a plain identifier, before anything starts', () => {
    const fakeKafka = {
      consumer: () => ({ events: {}, on: () => {} }),
      producer: () => ({}),
      admin: () => ({}),
    } as unknown as Kafka
    const app: InboxApp = {
      registry: things,
      inbox: { schema: 'billing', table: 'inbox"; drop table billing.ledger; --' },
      handlers: {},
    }
    expect(() =>
      createEventConsumer({
        kafka: fakeKafka,
        sql: fakePostgres().client,
        groupId: 'g',
        namespace: 'things.events',
        log: silentLogger,
        retry: quick,
        app,
      }),
    ).toThrow(OptionsError)
  })

  it('docs/use-in-your-service.md: with the page’s retry policy, a database outage ends the consumer (fatal, for its supervisor), never in a dead letter', async () => {
    // The page: `retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 }`, and "Database and
    // Kafka outages are never dead-lettered: the consumer retries, then stops without committing".
    let deadLettered = 0
    const outcome = processMessage(
      {
        applyEvent: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
        },
        publishDeadLetter: async () => {
          deadLettered += 1
        },
        deadLetterTopic: 'invoicing.events-dlq',
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
        heartbeat: async () => {},
      },
      incoming(ids[0] as string, '1'),
    )
    await expect(outcome).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' })
    expect(deadLettered).toBe(0)
    const page = readFileSync(new URL('../../../docs/use-in-your-service.md', import.meta.url), 'utf8')
    expect(page.replace(/\s+/g, ' ')).toContain(
      'never dead-lettered: the consumer retries, then stops without committing',
    )
  })
})
