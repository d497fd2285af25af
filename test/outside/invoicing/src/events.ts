import { defineEvent, defineEvents } from 'outbox-cdc'
import { z } from 'zod'

export const invoiceIssued = defineEvent({
  type: 'InvoiceIssued',
  aggregate: 'invoice',
  payload: z.object({ id: z.uuid(), customer: z.string().min(1), amountCents: z.number().int().positive() }),
  aggregateId: (invoice) => invoice.id,
})

export const invoicing = defineEvents([invoiceIssued], {
  namespace: process.env.NAMESPACE ?? 'invoicing.events',
})
