import { sql } from 'drizzle-orm'
import type { Tx } from '../db/client.ts'
import { catalogue } from '../db/schema.ts'
import { type Book, toCents } from '../lib/events.ts'

/**
 * The catalogue read model. Book and order events travel on different topics, so an OrderPlaced
 * can arrive before its BookAdded: every write is an upsert that touches only its own columns,
 * which makes the result independent of that order.
 */

export async function upsertCatalogueBook(tx: Tx, book: Book): Promise<void> {
  await tx
    .insert(catalogue)
    .values({ bookId: book.id, title: book.title, author: book.author, priceCents: toCents(book.price) })
    .onConflictDoUpdate({
      target: catalogue.bookId,
      set: { title: book.title, author: book.author, priceCents: toCents(book.price), updatedAt: sql`now()` },
    })
}

export async function markCatalogueBookRemoved(tx: Tx, bookId: string, removedAt: string): Promise<void> {
  await tx
    .insert(catalogue)
    .values({ bookId, removedAt: new Date(removedAt) })
    .onConflictDoUpdate({
      target: catalogue.bookId,
      set: { removedAt: new Date(removedAt), updatedAt: sql`now()` },
    })
}

export async function recordSale(tx: Tx, bookId: string, quantity: number, total: number): Promise<void> {
  const revenueCents = toCents(total)
  await tx
    .insert(catalogue)
    .values({ bookId, unitsSold: quantity, revenueCents })
    .onConflictDoUpdate({
      target: catalogue.bookId,
      set: {
        unitsSold: sql`${catalogue.unitsSold} + ${quantity}`,
        revenueCents: sql`${catalogue.revenueCents} + ${revenueCents}`,
        updatedAt: sql`now()`,
      },
    })
}
