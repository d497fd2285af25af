import { and, asc, eq, gte, isNull, sql } from 'drizzle-orm'
import type { DbOrTx } from '../../db/client.ts'
import { books } from '../../db/schema.ts'
import { type Book, fromCents } from '../../lib/events.ts'

export type BookRow = typeof books.$inferSelect

/** The book as the API returns it and as its events carry it. */
export function toBook(row: BookRow): Book {
  return {
    id: row.id,
    title: row.title,
    author: row.author,
    price: fromCents(row.priceCents),
    stock: row.stock,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    removedAt: row.removedAt?.toISOString() ?? null,
    warehouseCapacity: row.warehouseCapacity,
  }
}

/** Sets the most copies per shipment (null: no limit); undefined when the book is missing or removed. */
export async function setWarehouseCapacity(
  tx: DbOrTx,
  id: string,
  capacity: number | null,
  at: Date,
): Promise<BookRow | undefined> {
  const [row] = await tx
    .update(books)
    .set({ warehouseCapacity: capacity, updatedAt: at })
    .where(and(eq(books.id, id), isNull(books.removedAt)))
    .returning()
  return row
}

/** A new book is on sale: it has no `removedAt`. */
export async function insertBook(
  tx: DbOrTx,
  row: Omit<typeof books.$inferInsert, 'removedAt'>,
): Promise<BookRow> {
  const [inserted] = await tx
    .insert(books)
    .values({
      id: sql.placeholder('id'),
      title: sql.placeholder('title'),
      author: sql.placeholder('author'),
      priceCents: sql.placeholder('priceCents'),
      stock: sql.placeholder('stock'),
      createdAt: sql.placeholder('createdAt'),
      updatedAt: sql.placeholder('updatedAt'),
    })
    .returning()
    .prepare('insert_book')
    .execute(row)
  if (!inserted) throw new Error('insert into books returned no row')
  return inserted
}

export async function findBook(tx: DbOrTx, id: string): Promise<BookRow | undefined> {
  const [row] = await tx
    .select()
    .from(books)
    .where(eq(books.id, sql.placeholder('id')))
    .prepare('find_book')
    .execute({ id })
  return row
}

/** Books still on sale, oldest first. */
export function listBooks(tx: DbOrTx, options: { limit: number; offset: number }): Promise<BookRow[]> {
  return tx
    .select()
    .from(books)
    .where(isNull(books.removedAt))
    .orderBy(asc(books.createdAt), asc(books.id))
    .limit(options.limit)
    .offset(options.offset)
}

/** Marks a book removed; returns undefined when it was missing or already removed. */
export async function markBookRemoved(tx: DbOrTx, id: string, at: Date): Promise<BookRow | undefined> {
  const [row] = await tx
    .update(books)
    .set({ removedAt: at, updatedAt: at })
    .where(and(eq(books.id, id), isNull(books.removedAt)))
    .returning()
  return row
}

/**
 * Takes `quantity` copies off the shelf in one statement, so two concurrent orders can never
 * both take the last copy. Returns undefined when the book is missing, removed or short.
 */
export async function takeStock(
  tx: DbOrTx,
  id: string,
  quantity: number,
  at: Date,
): Promise<BookRow | undefined> {
  const [row] = await tx
    .update(books)
    // set() types take no placeholder, so the time goes in as SQL, already in the driver's form.
    .set({
      stock: sql`${books.stock} - ${sql.placeholder('quantity')}`,
      updatedAt: sql`${sql.placeholder('at')}`,
    })
    .where(
      and(
        eq(books.id, sql.placeholder('id')),
        isNull(books.removedAt),
        gte(books.stock, sql.placeholder('quantity')),
      ),
    )
    .returning()
    .prepare('take_stock')
    .execute({ id, quantity, at: at.toISOString() })
  return row
}
