import type { Db } from '../../db/client.ts'
import { orderPlaced } from '../../lib/events.ts'
import { findBook, takeStock } from '../repositories/books.ts'
import { insertOrder, toOrder } from '../repositories/orders.ts'
import { appendOutboxEvent } from '../repositories/outbox.ts'
import { defaultIdempotencyKeyTtlHours, runIdempotent } from './idempotent.ts'
import { orderRefusal } from './order-refusal.ts'

export interface PlaceOrderInput {
  customerId: string
  bookId: string
  quantity: number
}

/**
 * Takes the stock, records the order and appends OrderPlaced in one transaction, returning the
 * event unless replayed; when the stock cannot be taken, throws why (`orderRefusal`) and writes
 * nothing.
 */
export async function placeOrder(
  db: Db,
  input: PlaceOrderInput,
  context: { idempotencyKey?: string; idempotencyKeyTtlHours?: number; traceContext?: string },
) {
  return runIdempotent(
    db,
    {
      scope: 'POST /orders',
      key: context.idempotencyKey,
      body: input,
      keyTtlHours: context.idempotencyKeyTtlHours ?? defaultIdempotencyKeyTtlHours,
    },
    async (tx) => {
      const now = new Date()
      const book = await takeStock(tx, input.bookId, input.quantity, now)
      if (!book) throw orderRefusal(input, await findBook(tx, input.bookId))
      const row = await insertOrder(tx, {
        id: crypto.randomUUID(),
        customerId: input.customerId,
        bookId: input.bookId,
        quantity: input.quantity,
        totalCents: book.priceCents * input.quantity,
        status: 'placed',
        createdAt: now,
        // Fulfilment's rule decides from the event alone: the capacity travels with the order.
        warehouseCapacity: book.warehouseCapacity,
      })
      const order = toOrder(row)
      const event = orderPlaced({ ...order, status: 'placed' })
      await appendOutboxEvent(tx, event, { occurredAt: now, traceparent: context.traceContext })
      return { statusCode: 201, body: order, events: [event] }
    },
  )
}
