import type { Tx } from '../db/client.ts'
import type { EventType, PayloadOf } from '../lib/events.ts'
import { markCatalogueBookRemoved, recordSale, upsertCatalogueBook } from './catalogue.ts'

export type Handler<T extends EventType> = (tx: Tx, payload: PayloadOf<T>) => Promise<void>

/** One typed handler per event type; each runs inside the transaction that records the event. */
export const handlers: { [T in EventType]: Handler<T> } = {
  BookAdded: (tx, book) => upsertCatalogueBook(tx, book),
  BookRemoved: (tx, book) => markCatalogueBookRemoved(tx, book.id, book.removedAt),
  OrderPlaced: (tx, order) => recordSale(tx, order.bookId, order.quantity, order.total),
}

/**
 * The read-model row each event writes (the catalogue's book id). A batch runs its handlers
 * ordered by this key, so concurrent batches (other partitions, other consumer processes) lock
 * rows in the same order and cannot deadlock; the sort is stable, so events for one row keep
 * their order.
 */
export const readModelKey: { [T in EventType]: (payload: PayloadOf<T>) => string } = {
  BookAdded: (book) => book.id,
  BookRemoved: (book) => book.id,
  OrderPlaced: (order) => order.bookId,
}
