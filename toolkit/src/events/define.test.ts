import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineEvent, defineEvents } from './define.ts'

const invoice = z.object({
  id: z.uuid(),
  amountCents: z.number().int().positive(),
  note: z.string().optional(),
})
const invoices = defineEvents(
  [
    defineEvent({ type: 'InvoiceIssued', aggregate: 'invoice', payload: invoice, aggregateId: (p) => p.id }),
    defineEvent({
      type: 'InvoicePaid',
      aggregate: 'invoice',
      payload: invoice.extend({ paidAt: z.iso.datetime() }),
      aggregateId: (p) => p.id,
    }),
    defineEvent({
      type: 'CustomerBlocked',
      aggregate: 'customer',
      payload: z.object({ customerId: z.string() }),
      aggregateId: (p) => p.customerId,
    }),
  ],
  { namespace: 'billing.events' },
)
const id = '6b1f9c2e-1d2a-4e3b-8c4d-5e6f7a8b9c0d'

describe('defineEvents', () => {
  it('names one topic per aggregate under the namespace, and the dead-letter topic beside it', () => {
    expect(invoices.topics).toEqual(['billing.events.invoice', 'billing.events.customer'])
    expect(invoices.topicOf('customer')).toBe('billing.events.customer')
    expect(invoices.deadLetterTopic).toBe('billing.events-dlq')
    expect(invoices.types).toEqual(['InvoiceIssued', 'InvoicePaid', 'CustomerBlocked'])
  })

  it('creates an event keyed by its aggregate id, with the payload as its schema outputs it', () => {
    const event = invoices.create('InvoiceIssued', { id, amountCents: 1200, extra: 'dropped' } as never)
    expect(event).toMatchObject({ aggregateType: 'invoice', aggregateId: id, eventType: 'InvoiceIssued' })
    expect(event.payload).toEqual({ id, amountCents: 1200 })
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(invoices.create('InvoiceIssued', { id, amountCents: 1 }).id).not.toBe(event.id)
  })

  it('refuses a payload its schema refuses, naming the type and the field', () => {
    expect(() => invoices.create('InvoiceIssued', { id, amountCents: -5 })).toThrow(
      expect.objectContaining({
        code: 'INVALID_PAYLOAD',
        retryable: false,
        message: expect.stringMatching(/InvoiceIssued.*amountCents/s),
      }),
    )
    expect(() => invoices.parsePayload('InvoicePaid', { id, amountCents: 5 })).toThrow(/paidAt/)
    expect(() => invoices.create('Nope' as 'InvoicePaid', {} as never)).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_EVENT_TYPE' }),
    )
  })

  it('refuses definitions a topic or header could not carry, and a type defined twice', () => {
    const ok = { payload: invoice, aggregateId: () => id }
    expect(() => defineEvent({ ...ok, type: 'A', aggregate: 'in.voice' })).toThrow(/aggregate "in.voice"/)
    expect(() => defineEvent({ ...ok, type: 'A', aggregate: 'invoice-dlq' })).toThrow(/-dlq/)
    expect(() => defineEvent({ ...ok, type: 'has space', aggregate: 'invoice' })).toThrow(/event type/)
    const a = defineEvent({ ...ok, type: 'A', aggregate: 'invoice' })
    expect(() => defineEvents([a, a])).toThrow(expect.objectContaining({ code: 'INVALID_EVENT_DEFINITION' }))
    expect(() => defineEvents([a], { namespace: 'bad ns' })).toThrow(/namespace/)
  })

  it("gives each type's payload as a JSON Schema that agrees with the zod schema", () => {
    const schemas = invoices.jsonSchemas()
    expect(Object.keys(schemas)).toEqual(invoices.types)
    const ajv = new Ajv2020({ strict: false, validateFormats: false })
    const paid = ajv.compile(schemas.InvoicePaid)
    expect(
      paid(invoices.create('InvoicePaid', { id, amountCents: 3, paidAt: '2026-01-01T00:00:00Z' }).payload),
    ).toBe(true)
    expect(paid({ id, amountCents: 3 })).toBe(false)
    expect(paid({ id, amountCents: 1.5, paidAt: '2026-01-01T00:00:00Z' })).toBe(false)
  })
})

describe('a registry whose schema does not survive JSON', () => {
  it('refuses to create an event its own consumers could not parse back (dates, transforms)', () => {
    const dated = defineEvents([
      defineEvent({
        type: 'Dated',
        aggregate: 'thing',
        payload: z.object({ id: z.string(), at: z.date() }),
        aggregateId: (p) => p.id,
      }),
    ])
    expect(() => dated.create('Dated', { id: 'a', at: new Date() })).toThrow(
      expect.objectContaining({ code: 'INVALID_PAYLOAD', message: expect.stringMatching(/JSON/) }),
    )
  })

  it('gives the payload as it travels: what consumers parse back equals what was appended', () => {
    const event = invoices.create('InvoicePaid', { id, amountCents: 3, paidAt: '2026-01-01T00:00:00Z' })
    const received = JSON.parse(JSON.stringify(event.payload))
    expect(invoices.parsePayload('InvoicePaid', received)).toEqual(event.payload)
  })
})
