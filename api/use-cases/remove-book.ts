import type { Db } from '../../db/client.ts'
import { bookRemoved } from '../../lib/events.ts'
import { ApiError } from '../errors.ts'
import { markBookRemoved, toBook } from '../repositories/books.ts'
import { appendOutboxEvent } from '../repositories/outbox.ts'
import type { Outcome } from './outcome.ts'

/**
 * Takes a book off sale and appends BookRemoved, in one transaction, returning the book and the
 * event. A second removal is a 404.
 */
export async function removeBook(db: Db, id: string, context: { traceContext?: string }) {
  return db.transaction(async (tx) => {
    const now = new Date()
    const row = await markBookRemoved(tx, id, now)
    if (!row) throw new ApiError('NOT_FOUND', `No book with id ${id} is on sale.`)
    const book = toBook(row)
    const event = bookRemoved({ ...book, removedAt: book.removedAt ?? book.updatedAt })
    await appendOutboxEvent(tx, event, { occurredAt: now, traceparent: context.traceContext })
    return { statusCode: 200, body: book, events: [event] } satisfies Outcome
  })
}
