import type { Db } from '../../db/client.ts'
import { orderPlaced } from '../../lib/events.ts'
import { ApiError } from '../errors.ts'
import { findBook, takeStock } from '../repositories/books.ts'
import { insertOrder, toOrder } from '../repositories/orders.ts'
import { appendOutboxEvent } from '../repositories/outbox.ts'
import { defaultIdempotencyKeyTtlHours, runIdempotent } from './idempotent.ts'

export interface PlaceOrderInput {
  customerId: string
  bookId: string
  quantity: number
}

/**
 * Takes the stock, records the order and appends OrderPlaced in one transaction; when the stock
 * cannot be taken, says why and writes nothing.
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
      if (!book) {
        const existing = await findBook(tx, input.bookId)
        if (!existing) throw new ApiError('BOOK_NOT_FOUND', `bookId: no book with id ${input.bookId}.`)
        if (existing.removedAt)
          throw new ApiError('BOOK_REMOVED', `bookId: book ${input.bookId} is no longer on sale.`)
        throw new ApiError(
          'INSUFFICIENT_STOCK',
          `quantity: ${input.quantity} requested but only ${existing.stock} in stock for book ${input.bookId}.`,
          { retryable: true },
        )
      }
      const row = await insertOrder(tx, {
        id: crypto.randomUUID(),
        customerId: input.customerId,
        bookId: input.bookId,
        quantity: input.quantity,
        totalCents: book.priceCents * input.quantity,
        status: 'placed',
        createdAt: now,
      })
      const order = toOrder(row)
      await appendOutboxEvent(tx, orderPlaced(order), context.traceContext)
      return { statusCode: 201, body: order }
    },
  )
}
