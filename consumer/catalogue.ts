import { sql } from 'drizzle-orm'
import type { Tx } from '../db/client.ts'
import { catalogue } from '../db/schema.ts'
import { type Book, type Order, toCents } from '../lib/events.ts'

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

/**
 * Many sales in one statement: summed per book first (an upsert may touch a row once), which
 * gives the same totals as one recordSale per order since the counters only add.
 */
export async function recordSales(tx: Tx, orders: Order[]): Promise<void> {
  const perBook = new Map<string, { bookId: string; unitsSold: number; revenueCents: number }>()
  for (const order of orders) {
    const row = perBook.get(order.bookId) ?? { bookId: order.bookId, unitsSold: 0, revenueCents: 0 }
    row.unitsSold += order.quantity
    row.revenueCents += toCents(order.total)
    perBook.set(order.bookId, row)
  }
  if (perBook.size === 0) return
  await tx
    .insert(catalogue)
    .values([...perBook.values()])
    .onConflictDoUpdate({
      target: catalogue.bookId,
      set: {
        unitsSold: sql`${catalogue.unitsSold} + excluded.units_sold`,
        revenueCents: sql`${catalogue.revenueCents} + excluded.revenue_cents`,
        updatedAt: sql`now()`,
      },
    })
}
