import {
  createEventConsumer,
  defineEvent,
  defineEvents,
  defineInboxApp,
  type EventConsumer,
  ensureTopics,
  listDeadLetters,
  listParkedKeys,
  redriveDeadLetters,
  silentLogger,
} from 'outbox-cdc'
import { beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { useConsumerFixture } from '../consumer-fixture.ts'
import { uniqueName } from '../support.ts'

/**
 * Dead letters that keep each key's order (docs/consumer.md, "Each key keeps its order"), on the
 * real broker and database: an invoice service whose handlers trust one invoice's events to come
 * in order, a poison first event, a fix and a redrive; and a second group on the same topic that
 * the first group's letters never touch.
 */
const fx = useConsumerFixture('dlq-key-order')
const namespace = uniqueName('it.order').toLowerCase()
const invoice = z.object({ id: z.string(), amountCents: z.number().int().optional() })
const events = defineEvents(
  ['InvoiceIssued', 'InvoicePaid', 'InvoiceVoided'].map((type) =>
    defineEvent({ type, aggregate: 'invoice', payload: invoice, aggregateId: (i) => i.id }),
  ),
  { namespace },
)
const topic = `${namespace}.invoice`
const billingGroup = `${namespace}-billing`
const auditGroup = `${namespace}-audit`

type Tx = Parameters<NonNullable<Parameters<typeof defineInboxApp>[0]['handlers'][string]>>[0]
/** Each event sets what it knows, as most handlers do: a later event applied first is overwritten. */
const setStatus =
  (status: string) => async (tx: Tx, guard: string, invoices: Array<z.infer<typeof invoice>>) => {
    for (const i of invoices) {
      const [bug] = await tx`select 1 from bugs where invoice_id = ${i.id} and status = ${status}`
      if (bug) throw new Error(`billing cannot handle invoice ${i.id} yet`)
      await tx`insert into invoices (id, status, amount_cents)
      select ${i.id}, ${status}, ${i.amountCents ?? null} where txid_current() = ${guard}::bigint
      on conflict (id) do update set status = excluded.status,
        amount_cents = coalesce(excluded.amount_cents, invoices.amount_cents)`
    }
  }
const billing = defineInboxApp({
  registry: events,
  inbox: 'consumed_events',
  handlers: {
    InvoiceIssued: setStatus('issued'),
    InvoicePaid: setStatus('paid'),
    InvoiceVoided: setStatus('voided'),
  },
})
const audit = defineInboxApp({
  registry: events,
  inbox: 'fulfilment_inbox',
  handlers: Object.fromEntries(
    ['InvoiceIssued', 'InvoicePaid', 'InvoiceVoided'].map((type) => [
      type,
      async (tx: Tx, guard: string, invoices: Array<z.infer<typeof invoice>>) => {
        for (const i of invoices)
          await tx`insert into audit (invoice_id, event_type) select ${i.id}, ${type} where txid_current() = ${guard}::bigint`
      },
    ]),
  ),
})

describe('dead letters that keep each key’s order, on the real stack', () => {
  const consumers: EventConsumer[] = []
  const producer = fx.kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: true,
    maxInFlightRequests: 1,
  })
  const sql = () => fx.database.db.$client

  beforeAll(async () => {
    await sql().unsafe(`
      create table invoices (id text primary key, status text not null, amount_cents int);
      create table bugs (invoice_id text not null, status text not null);
      create table audit (invoice_id text not null, event_type text not null);`)
    // One partition: both invoices share it, so the second one flowing on is the point.
    await ensureTopics(fx.admin, [{ topic, partitions: 1 }])
    await producer.connect()
    fx.onCleanup(() => producer.disconnect())
    fx.onCleanup(() => fx.admin.deleteTopics({ topics: [topic, `${namespace}-dlq`] }))
    for (const [groupId, app] of [
      [billingGroup, billing],
      [auditGroup, audit],
    ] as const) {
      const consumer = createEventConsumer({
        kafka: fx.kafka,
        sql: sql(),
        groupId,
        namespace,
        app,
        topics: [topic],
        log: silentLogger,
        retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      })
      consumers.push(consumer)
      fx.onCleanup(() => consumer.stop())
      await consumer.start()
    }
  })

  const send = (id: string, type: string, amountCents?: number) =>
    producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: id,
          value: JSON.stringify({ id, ...(amountCents ? { amountCents } : {}) }),
          headers: { id: crypto.randomUUID(), event_type: type },
        },
      ],
    })
  const invoiceRows = async () =>
    Object.fromEntries(
      (
        await sql()<{ id: string; status: string; amount_cents: number | null }[]>`select * from invoices`
      ).map((r) => [r.id, { status: r.status, amountCents: r.amount_cents }]),
    )
  const audited = async () => (await sql()<{ n: number }[]>`select count(*)::int as n from audit`)[0]?.n

  it('holds back only the failed invoice, letters it for its own group, and ends as if nothing had failed once fixed and redriven', async () => {
    // Only inv-1's first event fails: the two behind it would apply, out of order, if let through.
    await sql()`insert into bugs values ('inv-1', 'issued')`
    await send('inv-1', 'InvoiceIssued', 120)
    await send('inv-2', 'InvoiceIssued', 80)
    await send('inv-1', 'InvoicePaid')
    await send('inv-2', 'InvoicePaid')
    await send('inv-1', 'InvoiceVoided')

    // inv-2, on the same partition, flows on; inv-1 waits whole behind its first event.
    await expect
      .poll(invoiceRows, { timeout: 30_000 })
      .toEqual({ 'inv-2': { status: 'paid', amountCents: 80 } })
    await expect
      .poll(() => listParkedKeys(sql(), 'outbox_cdc_parked_letters', billingGroup), { timeout: 30_000 })
      .toMatchObject([{ group: billingGroup, topic, key: 'inv-1', waiting: 2 }])
    // The audit group read everything, untouched by billing's failure.
    await expect.poll(audited, { timeout: 30_000 }).toBe(5)

    const dlq = `${namespace}-dlq`
    const letters = await listDeadLetters(fx.kafka, dlq, { group: billingGroup })
    expect(letters.map((l) => [l.errorCode, l.eventType, l.group])).toEqual([
      ['HANDLER_FAILED', 'InvoiceIssued', billingGroup],
      ['PARKED', 'InvoicePaid', billingGroup],
      ['PARKED', 'InvoiceVoided', billingGroup],
    ])
    expect(letters.slice(1).map((l) => l.parkedBehind)).toEqual([letters[0]?.eventId, letters[0]?.eventId])
    expect(await listDeadLetters(fx.kafka, dlq, { group: auditGroup })).toEqual([])

    await sql()`delete from bugs`
    const sent = await redriveDeadLetters(fx.kafka, dlq, `${billingGroup}-redrive`, {
      dryRun: false,
      group: billingGroup,
      onLetter: () => {},
    })
    expect(sent).toBe(3)
    await expect.poll(invoiceRows, { timeout: 30_000 }).toEqual({
      'inv-1': { status: 'voided', amountCents: 120 },
      'inv-2': { status: 'paid', amountCents: 80 },
    })
    await expect
      .poll(() => listParkedKeys(sql(), 'outbox_cdc_parked_letters'), { timeout: 30_000 })
      .toEqual([])

    // inv-1 flows again: a new event is applied at once. The audit group passed the redriven
    // copies by, so it saw each event once.
    await send('inv-1', 'InvoicePaid')
    await expect.poll(async () => (await invoiceRows())['inv-1']?.status, { timeout: 30_000 }).toBe('paid')
    await expect.poll(audited, { timeout: 30_000 }).toBe(6)
    expect(consumers[1]?.stats).toMatchObject({ applied: 6, deadLettered: 0 })
  })
})
