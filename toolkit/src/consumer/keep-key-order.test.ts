import type { KafkaMessage, Message, Producer } from 'kafkajs'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { steadyBatch } from '../../test/partition-simulation.ts'
import { redrivenCopy } from '../tools/dlq.ts'
import { publishDeadLetter } from './dead-letter.ts'
import { type BatchRule, handleBatch } from './handle-batch.ts'
import type { IncomingEvent } from './incoming-event.ts'
import { addParked, type ParkedKeys, type ParkedLetter } from './key-order.ts'
import type { ParkedLetterStore } from './parked-letters.ts'

/**
 * An invoice service written the way most are: each event sets what it knows, trusting the events
 * of one invoice to come in order (issued → paid → voided). A dead letter that lets later events of
 * its key through leaves such a service in the wrong state for good.
 */
type Invoice = { status: string; amount?: number }
const topic = 'shop.invoice'

function invoiceWorld(group: string) {
  const invoices = new Map<string, Invoice>()
  const inbox = new Set<string>()
  const broken = new Set<string>()
  const rows = new Map<string, { topic: string; letter: ParkedLetter }>()
  const deadLetters: Message[] = []
  const applyTo = (state: Map<string, Invoice>, done: Set<string>, record: IncomingEvent) => {
    const id = record.headers.id as string
    if (done.has(id)) return 'duplicate' as const
    if (broken.has(id)) throw new Error('the handler has a bug for this event')
    const key = record.key as string
    const body = JSON.parse(record.value ?? '{}') as { amount?: number }
    const type = record.headers.event_type
    if (type === 'InvoiceIssued') state.set(key, { status: 'issued', amount: body.amount })
    else state.set(key, { ...state.get(key), status: type === 'InvoicePaid' ? 'paid' : 'voided' })
    done.add(id)
    return 'applied' as const
  }
  const store: ParkedLetterStore = {
    async load(t, keys) {
      const parked: ParkedKeys = new Map()
      for (const row of rows.values())
        if (row.topic === t && keys.includes(row.letter.key)) addParked(parked, row.letter)
      return parked
    },
    // As the table does: a letter behind a head whose row is gone (released) is not recorded.
    async add(t, letter) {
      if (letter.behind !== null && !rows.has(letter.behind)) return false
      if (!rows.has(letter.eventId)) rows.set(letter.eventId, { topic: t, letter })
      return true
    },
    async release(eventId) {
      rows.delete(eventId)
    },
    async applied(eventId) {
      return inbox.has(eventId)
    },
  }
  const producer = {
    send: async ({ messages }: { messages: Message[] }) => void deadLetters.push(...messages),
  }
  let fatalError: Error | undefined
  let transactions = 0
  const rule = (keepKeyOrder: boolean): BatchRule => ({
    batchSize: 500,
    retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 },
    deadLetterTopic: 'shop-dlq',
    applyEvent: async (record) => {
      transactions += 1
      return applyTo(invoices, inbox, record)
    },
    // All or nothing, as a transaction: on a throw nothing stays.
    applyBatch: async (records) => {
      transactions += 1
      const state = new Map(invoices)
      const done = new Set(inbox)
      const outcomes = records.map((r) => applyTo(state, done, r))
      for (const [k, v] of state) invoices.set(k, v)
      for (const id of done) inbox.add(id)
      return outcomes
    },
    publishDeadLetter: (message) =>
      publishDeadLetter(producer as unknown as Producer, 'shop-dlq', message, group),
    hasFailed: () => false,
    onFatal: (error) => {
      fatalError = error
    },
    log: pino({ level: process.env.DEBUG_TEST ? 'debug' : 'silent' }),
    stats: { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 },
    keyOrder: keepKeyOrder ? { group, parked: store } : { group },
  })
  const deliver = async (keepKeyOrder: boolean, messages: KafkaMessage[]) => {
    const resolved: string[] = []
    await handleBatch(rule(keepKeyOrder), steadyBatch(topic, messages, resolved))
    return resolved
  }
  /** A redrive of every letter not yet sent, in the order they were written, at offsets after `from`. */
  let sentBack = 0
  const redrive = (from: number): KafkaMessage[] =>
    deadLetters.slice(sentBack).map((letter, i) => {
      sentBack += 1
      const copy = redrivenCopy({
        ...letter,
        offset: String(i),
        timestamp: '0',
        attributes: 0,
      } as KafkaMessage)
      return { ...copy, offset: String(from + i), timestamp: '0', attributes: 0 } as KafkaMessage
    })
  return {
    invoices,
    broken,
    rows,
    deadLetters,
    deliver,
    redrive,
    store,
    fatal: () => fatalError,
    transactions: () => transactions,
  }
}

let next = 0
const event = (key: string, type: string, body: object = {}): KafkaMessage => {
  next += 1
  return {
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(body)),
    headers: { id: Buffer.from(crypto.randomUUID()), event_type: Buffer.from(type) },
    offset: String(next),
    timestamp: '0',
    attributes: 0,
  } as KafkaMessage
}

const history = () => {
  next = 0
  return [
    event('inv-1', 'InvoiceIssued', { amount: 120 }),
    event('inv-2', 'InvoiceIssued', { amount: 80 }),
    event('inv-1', 'InvoicePaid'),
    event('inv-2', 'InvoicePaid'),
    event('inv-1', 'InvoiceVoided'),
  ]
}
const idOf = (m: KafkaMessage) => m.headers?.id?.toString() as string

describe('dead letters that keep each key’s order', () => {
  it('a poison first event and the two behind it end, after the fix and a redrive, as if nothing had failed', async () => {
    const calm = invoiceWorld('billing')
    await calm.deliver(true, history())

    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    const resolved = await world.deliver(true, events)
    expect(resolved).toEqual(events.map((m) => m.offset))
    // The other invoice on the partition was not held back; this one waits whole.
    expect(world.invoices.get('inv-2')).toEqual({ status: 'paid', amount: 80 })
    expect(world.invoices.has('inv-1')).toBe(false)
    expect(
      world.deadLetters.map((l) => [l.headers?.['dlq.error.code'], l.headers?.['dlq.parked.behind']]),
    ).toEqual([
      ['HANDLER_FAILED', undefined],
      ['PARKED', idOf(events[0] as KafkaMessage)],
      ['PARKED', idOf(events[0] as KafkaMessage)],
    ])
    expect(world.deadLetters.every((l) => l.headers?.['dlq.group'] === 'billing')).toBe(true)

    // A live event of the held key that comes before the redrive waits too.
    const live = event('inv-1', 'InvoiceVoided')
    await world.deliver(true, [live])
    expect(world.invoices.has('inv-1')).toBe(false)

    world.broken.clear()
    await world.deliver(true, world.redrive(100))
    expect(world.invoices).toEqual(calm.invoices)
    expect(world.rows.size).toBe(0)
  })

  it('without it, the same failure leaves the invoice in the wrong state after the redrive', async () => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    await world.deliver(false, events)
    world.broken.clear()
    await world.deliver(false, world.redrive(100))
    // The paid and voided events went through first; the redriven "issued" came last.
    expect(world.invoices.get('inv-1')).toEqual({ status: 'issued', amount: 120 })
  })

  it('a key stays held until every letter of it is applied again: a head that fails again keeps its followers behind it', async () => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    await world.deliver(true, events)
    // Redriven before the fix: the head fails again and its followers go back behind it, in order.
    await world.deliver(true, world.redrive(100))
    expect(world.invoices.has('inv-1')).toBe(false)
    expect(world.rows.size).toBe(3)
    expect(world.deadLetters.slice(3).map((l) => l.headers?.['dlq.error.code'])).toEqual([
      'HANDLER_FAILED',
      'PARKED',
      'PARKED',
    ])
    world.broken.clear()
    await world.deliver(true, world.redrive(200))
    expect(world.invoices.get('inv-1')).toEqual({ status: 'voided', amount: 120 })
    expect(world.rows.size).toBe(0)
  })

  it('a record delivered again after a crash is not lettered twice, and a letter redriven for another group is passed by', async () => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    await world.deliver(true, events)
    const letters = world.deadLetters.length
    await world.deliver(true, events)
    expect(world.deadLetters.length).toBe(letters)

    const other = invoiceWorld('shipping')
    other.broken.clear()
    await other.deliver(true, world.redrive(100))
    expect(other.invoices.size).toBe(0)
    expect(other.deadLetters).toEqual([])
  })

  /** The history with its first event poisoned, delivered while recording a parked letter fails so. */
  const parkingFails = async (failure: Error) => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    let calls = 0
    world.store.add = async () => {
      calls += 1
      throw failure
    }
    return { events, world, resolved: await world.deliver(true, events), calls: () => calls }
  }

  it('a parked letter the database refuses to record (not an outage) keeps its letter and never stops the consumer', async () => {
    // What Postgres says of a row it cannot index: not transient, so retrying or restarting
    // would only meet it again.
    const refusal = new Error('index row size 8016 exceeds btree version 4 maximum 2704')
    const { events, world, resolved, calls } = await parkingFails(Object.assign(refusal, { code: '54000' }))
    expect(world.fatal()).toBeUndefined()
    // Refused once is refused: not tried again (the policy's delays would hold the partition up).
    expect(calls()).toBe(1)
    expect(resolved).toEqual(events.map((m) => m.offset))
    expect(world.deadLetters.length).toBeGreaterThanOrEqual(1)
  })

  it('a held key costs its own records one by one, not the batch: the others go in a transaction per run', async () => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    await world.deliver(true, events)
    // inv-1 is held now. A batch of 40 other invoices' events with one of inv-1's in the middle.
    const others = Array.from({ length: 40 }, (_, i) => event(`other-${i}`, 'InvoiceIssued', { amount: i }))
    const batch = [...others.slice(0, 20), event('inv-1', 'InvoicePaid'), ...others.slice(20)]
    const before = world.transactions()
    await world.deliver(true, batch)
    expect(world.invoices.size).toBe(41)
    expect(world.transactions() - before).toBeLessThanOrEqual(2)
    expect(world.rows.size).toBe(4)
  })

  it('the database away while parking stops the consumer with the record unresolved', async () => {
    const outage = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    const { world, resolved } = await parkingFails(outage)
    expect(world.fatal()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' })
    expect(resolved).toEqual([])
  })

  it('a released key whose first letter still fails is not held again by a redrive: the letters behind it apply', async () => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    await world.deliver(true, events)
    world.rows.clear() // dlq release --key inv-1
    await world.deliver(true, world.redrive(100))
    expect(world.rows.size).toBe(0)
    expect(world.invoices.get('inv-1')?.status).toBe('voided')
  })

  it('a key released while a batch parks behind it is not held by the letters parked after the release', async () => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    const add = world.store.add
    world.store.add = async (t, letter) => {
      const added = await add(t, letter)
      if (letter.behind === null) world.rows.clear() // released just after the head was recorded
      return added
    }
    await world.deliver(true, events)
    expect(world.rows.size).toBe(0)
  })

  it('a head the inbox already holds (applied while order was off) is let go, not waited for', async () => {
    const events = history()
    const world = invoiceWorld('billing')
    world.broken.add(idOf(events[0] as KafkaMessage))
    await world.deliver(true, events)
    world.broken.clear()
    await world.deliver(false, world.redrive(100)) // DLQ_KEEP_KEY_ORDER=false, then a redrive
    expect(world.rows.size).toBe(3)
    await world.deliver(true, [event('inv-1', 'InvoicePaid')])
    expect(world.invoices.get('inv-1')?.status).toBe('paid')
    expect(world.rows.size).toBe(0)
  })
})
