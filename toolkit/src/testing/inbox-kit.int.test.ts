import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { z } from 'zod'
import { createTestDatabase, type TestDatabase } from '../../../test/support.ts'
import { defineInboxApp } from '../consumer/apply-event.ts'
import { defineEvent, defineEvents } from '../events/define.ts'
import { appendEvent } from '../outbox/append.ts'
import { postgresJsExecutor } from '../outbox/executor.ts'
import { schemaSql } from '../schema/sql.ts'
import { inboxTestKit } from './inbox-kit.ts'

/*
 * The test kit as a user's handler test uses it: a real Postgres, events built from the
 * definitions, no Kafka. The app books an invoice in a ledger, refuses a second payment, and
 * appends a receipt carrying the cause's traceparent.
 */
const stack = inject('stack')
const billing = defineEvents(
  [
    defineEvent({
      type: 'InvoiceIssued',
      aggregate: 'invoice',
      payload: z.object({ id: z.uuid(), amountCents: z.number().int().positive() }),
      aggregateId: (p) => p.id,
    }),
    defineEvent({
      type: 'ReceiptSent',
      aggregate: 'receipt',
      payload: z.object({ invoiceId: z.uuid() }),
      aggregateId: (p) => p.invoiceId,
    }),
  ],
  { namespace: 'kit.events' },
)
const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

const ledger = defineInboxApp({
  registry: billing,
  inbox: { schema: 'kit', table: 'inbox' },
  handlers: {
    InvoiceIssued: async (tx, guard, invoices, events) => {
      const refused = []
      for (const [i, invoice] of invoices.entries()) {
        const [row] = await tx<{ booked: boolean }[]>`
          insert into kit.ledger (invoice_id, amount_cents) select ${invoice.id}, ${invoice.amountCents}
          where txid_current() = ${guard}::bigint on conflict do nothing returning true as booked`
        if (!row) {
          refused.push({ eventType: 'InvoiceIssued', from: 'booked' })
          continue
        }
        const cause = events[i]?.traceparent
        await appendEvent(
          postgresJsExecutor(tx, { txGuard: guard }),
          { schema: 'kit', table: 'outbox' },
          billing.create('ReceiptSent', { invoiceId: invoice.id }),
          cause ? { traceparent: cause } : {},
        )
      }
      return { refused }
    },
  },
})

let db: TestDatabase
let sql: postgres.Sql

beforeAll(async () => {
  db = await createTestDatabase(stack.postgres.adminUrl, `it_kit_${process.pid}`)
  sql = postgres(db.url, { max: 2, onnotice: () => {} })
  await sql.unsafe(
    schemaSql({
      outboxes: [{ schema: 'kit', table: 'outbox' }],
      heartbeat: { schema: 'kit', table: 'heartbeat' },
      inboxes: [{ schema: 'kit', table: 'inbox' }],
      publication: 'kit_pub',
    }),
  )
  await sql`create table kit.ledger (invoice_id uuid primary key, amount_cents int not null)`
})
afterAll(async () => {
  await sql?.end()
  await db?.drop()
})

describe('inboxTestKit', () => {
  it('applies an event once, records it in the inbox, and shows what the handler appended', async () => {
    const kit = inboxTestKit(sql, ledger)
    await kit.captureAppends({ schema: 'kit', table: 'outbox' })
    const issued = billing.create('InvoiceIssued', { id: kit.newId(), amountCents: 1200 })
    expect(await kit.deliver(issued, { traceparent })).toEqual({ outcomes: ['applied'], refused: [] })
    expect(await kit.deliver(issued)).toEqual({ outcomes: ['duplicate'], refused: [] })
    expect(await sql`select amount_cents from kit.ledger`).toEqual([{ amount_cents: 1200 }])
    expect(await sql`select event_id::text, topic from kit.inbox`).toEqual([
      { event_id: issued.id, topic: 'kit.events.invoice' },
    ])
    expect(await kit.appended({ schema: 'kit', table: 'outbox' })).toEqual([
      {
        id: expect.any(String),
        aggregateType: 'receipt',
        aggregateId: issued.payload.id,
        eventType: 'ReceiptSent',
        payload: { invoiceId: issued.payload.id },
        traceparent,
      },
    ])
  })

  it('reports what a handler refused, and a payload its schema refuses applies nothing', async () => {
    const kit = inboxTestKit(sql, ledger)
    const id = kit.newId()
    await kit.deliver(billing.create('InvoiceIssued', { id, amountCents: 5 }))
    // The same invoice under a new event id: new to the inbox, refused by the handler.
    const again = { ...billing.create('InvoiceIssued', { id, amountCents: 5 }), id: kit.newId() }
    expect(await kit.deliver(again)).toEqual({
      outcomes: ['applied'],
      refused: [{ eventType: 'InvoiceIssued', from: 'booked' }],
    })
    const bad = {
      ...billing.create('InvoiceIssued', { id: kit.newId(), amountCents: 1 }),
      payload: { id, amountCents: -1 },
    }
    await expect(
      kit.deliver([billing.create('InvoiceIssued', { id: kit.newId(), amountCents: 7 }), bad]),
    ).rejects.toThrow(/InvoiceIssued payload is invalid: amountCents/)
    expect(await sql`select count(*)::int as n from kit.ledger where amount_cents = 7`).toEqual([{ n: 0 }])
  })

  it('shows appends in the order they were made, only those since captureAppends, and stops capturing', async () => {
    const kit = inboxTestKit(sql, ledger)
    const outbox = { schema: 'kit', table: 'outbox' }
    await kit.captureAppends(outbox)
    await kit.deliver(billing.create('InvoiceIssued', { id: kit.newId(), amountCents: 3 }))
    await kit.captureAppends(outbox)
    const ids = Array.from({ length: 10 }, () => kit.newId())
    await kit.deliver(ids.map((id) => billing.create('InvoiceIssued', { id, amountCents: 9 })))
    expect((await kit.appended(outbox)).map((e) => (e.payload as { invoiceId: string }).invoiceId)).toEqual(
      ids,
    )
    await kit.stopCapture(outbox)
    const [trigger] =
      await sql`select count(*)::int as n from pg_trigger where tgname = 'outbox_cdc_test_capture'`
    expect(trigger).toEqual({ n: 0 })
    await sql`alter table kit.outbox add column extra text`
    await kit.deliver(billing.create('InvoiceIssued', { id: kit.newId(), amountCents: 4 }))
  })
})
