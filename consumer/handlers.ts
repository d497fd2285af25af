import type { Tx } from '../db/client.ts'
import type { EventType, PayloadOf } from '../lib/events.ts'
import { markCatalogueBookRemoved, recordSale, recordSales, upsertCatalogueBook } from './catalogue.ts'

export type Handler<T extends EventType> = (tx: Tx, payload: PayloadOf<T>) => Promise<void>

/** One typed handler per event type; each runs inside the transaction that records the event. */
export const handlers: { [T in EventType]: Handler<T> } = {
  BookAdded: (tx, book) => upsertCatalogueBook(tx, book),
  BookRemoved: (tx, book) => markCatalogueBookRemoved(tx, book.id, book.removedAt),
  OrderPlaced: (tx, order) => recordSale(tx, order.bookId, order.quantity, order.total),
}

/** The same, for many events of one type applied in one transaction (oldest first). */
export type BatchHandler<T extends EventType> = (tx: Tx, payloads: PayloadOf<T>[]) => Promise<void>

export const batchHandlers: { [T in EventType]: BatchHandler<T> } = {
  BookAdded: async (tx, books) => {
    for (const book of books) await upsertCatalogueBook(tx, book)
  },
  BookRemoved: async (tx, books) => {
    for (const book of books) await markCatalogueBookRemoved(tx, book.id, book.removedAt)
  },
  // Sales arrive by the thousand: one statement for the whole batch.
  OrderPlaced: (tx, orders) => recordSales(tx, orders),
}

/**
 * The read-model row each event writes (the catalogue's book id). A batch locks these keys first,
 * in one sorted pass, so batches running at once (other partitions, other consumer processes)
 * never wait on each other in a cycle.
 */
export const readModelKey: { [T in EventType]: (payload: PayloadOf<T>) => string } = {
  BookAdded: (book) => book.id,
  BookRemoved: (book) => book.id,
  OrderPlaced: (order) => order.bookId,
}
