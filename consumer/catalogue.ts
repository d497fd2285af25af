import type { Sql, TxGuard } from 'outbox-cdc'
import { type Book, type Order, toCents } from '../lib/events.ts'

/**
 * The catalogue read model. Book and order events travel on different topics, so an OrderPlaced
 * can arrive before its BookAdded: every write is an upsert that touches only its own columns,
 * which makes the result independent of that order.
 *
 * These run on the postgres.js driver, not Drizzle: they are the consumer's hot path, and one
 * prepared statement over arrays (unnest) costs a fraction of Drizzle building a multi-row insert
 * and sending it unprepared (see docs/benchmark.md). Each takes a whole batch of one event type.
 */
// The batch's transaction and its guard (see TxGuard in the toolkit): every write here carries it.
export type { Sql, TxGuard } from 'outbox-cdc'

/** Book ids as keys: the uuid's text in lower case, so `A1…` and `a1…` are the one row they are. */
const bookKey = (id: string) => id.toLowerCase()

/** Added books, the last event of a book winning (an upsert may touch a row once per statement). */
export async function upsertCatalogueBooks(sql: Sql, tx: TxGuard, books: Book[]): Promise<void> {
  const latest = [...new Map(books.map((book) => [bookKey(book.id), book])).values()]
  if (latest.length === 0) return
  await sql`
    insert into catalogue as c (book_id, title, author, price_cents)
    select * from unnest(${sql.array(latest.map((b) => b.id))}::uuid[], ${sql.array(latest.map((b) => b.title))}::text[],
                         ${sql.array(latest.map((b) => b.author))}::text[], ${sql.array(latest.map((b) => toCents(b.price)))}::int[])
    where txid_current() = ${tx}::bigint
    on conflict (book_id) do update
      set title = excluded.title, author = excluded.author, price_cents = excluded.price_cents, updated_at = now()`
}

export async function markCatalogueBooksRemoved(
  sql: Sql,
  tx: TxGuard,
  books: Array<{ id: string; removedAt: string }>,
): Promise<void> {
  const latest = [...new Map(books.map((book) => [bookKey(book.id), book])).values()]
  if (latest.length === 0) return
  await sql`
    insert into catalogue as c (book_id, removed_at)
    select * from unnest(${sql.array(latest.map((b) => b.id))}::uuid[], ${sql.array(latest.map((b) => b.removedAt))}::timestamptz[])
    where txid_current() = ${tx}::bigint
    on conflict (book_id) do update set removed_at = excluded.removed_at, updated_at = now()`
}

/**
 * Sales, summed per book first (an upsert may touch a row once per statement), which gives the
 * same totals as one statement per order since the counters only add.
 */
export const recordSales = (sql: Sql, tx: TxGuard, orders: Order[]) => addSales(sql, tx, orders, 1)

/** Cancelled orders taken back out of the sales: units sold are net of cancellations. */
export const recordCancellations = (sql: Sql, tx: TxGuard, orders: Order[]) => addSales(sql, tx, orders, -1)

async function addSales(sql: Sql, tx: TxGuard, orders: Order[], sign: 1 | -1): Promise<void> {
  const perBook = new Map<string, { units: number; cents: number }>()
  for (const order of orders) {
    const row = perBook.get(bookKey(order.bookId)) ?? { units: 0, cents: 0 }
    row.units += sign * order.quantity
    row.cents += sign * toCents(order.total)
    perBook.set(bookKey(order.bookId), row)
  }
  if (perBook.size === 0) return
  const rows = [...perBook.values()]
  await sql`
    insert into catalogue as c (book_id, units_sold, revenue_cents)
    select * from unnest(${sql.array([...perBook.keys()])}::uuid[], ${sql.array(rows.map((r) => r.units))}::int[],
                         ${sql.array(rows.map((r) => r.cents))}::bigint[])
    where txid_current() = ${tx}::bigint
    on conflict (book_id) do update
      set units_sold = c.units_sold + excluded.units_sold,
          revenue_cents = c.revenue_cents + excluded.revenue_cents,
          updated_at = now()`
}
