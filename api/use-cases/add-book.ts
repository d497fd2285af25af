import type { Db } from '../../db/client.ts'
import { type Book, bookAdded, toCents } from '../../lib/events.ts'
import { insertBook, toBook } from '../repositories/books.ts'
import { appendOutboxEvent } from '../repositories/outbox.ts'
import { defaultIdempotencyKeyTtlHours, type Idempotency, runIdempotent } from './idempotent.ts'

export interface AddBookInput {
  title: string
  author: string
  price: number
  stock: number
}

/** Adds a book and its BookAdded event in one transaction; returns the event unless replayed. */
export async function addBook(
  db: Db,
  input: AddBookInput,
  context: { idempotencyKey?: string; idempotencyKeyTtlHours?: number; traceContext?: string },
) {
  const idempotency: Idempotency = {
    scope: 'POST /books',
    key: context.idempotencyKey,
    body: input,
    keyTtlHours: context.idempotencyKeyTtlHours ?? defaultIdempotencyKeyTtlHours,
  }
  return runIdempotent(db, idempotency, async (tx) => {
    const now = new Date()
    const row = await insertBook(tx, {
      id: crypto.randomUUID(),
      title: input.title,
      author: input.author,
      priceCents: toCents(input.price),
      stock: input.stock,
      createdAt: now,
      updatedAt: now,
    })
    const book: Book = toBook(row)
    const event = bookAdded(book)
    await appendOutboxEvent(tx, event, { occurredAt: now, traceparent: context.traceContext })
    return { statusCode: 201, body: book, events: [event] }
  })
}
