import type { EventType, PayloadOf } from '../lib/events.ts'
import {
  markCatalogueBooksRemoved,
  recordSales,
  type Sql,
  type TxGuard,
  upsertCatalogueBooks,
} from './catalogue.ts'

/**
 * How each event type changes the read model, for all of a batch's new events of that type at
 * once (oldest first), inside the transaction that records them in the inbox. One event is a
 * batch of one.
 */
export type BatchHandler<T extends EventType> = (
  sql: Sql,
  tx: TxGuard,
  payloads: PayloadOf<T>[],
) => Promise<void>

export const batchHandlers: { [T in EventType]: BatchHandler<T> } = {
  BookAdded: (sql, tx, books) => upsertCatalogueBooks(sql, tx, books),
  BookRemoved: (sql, tx, books) => markCatalogueBooksRemoved(sql, tx, books),
  OrderPlaced: (sql, tx, orders) => recordSales(sql, tx, orders),
}

/**
 * The read-model row each event writes (the catalogue's book id). A batch locks these keys first,
 * in one sorted pass, so batches running at once (other partitions, other consumer processes)
 * never wait on each other in a cycle.
 */
export const readModelKey: { [T in EventType]: (payload: PayloadOf<T>) => string } = {
  BookAdded: (book) => book.id.toLowerCase(),
  BookRemoved: (book) => book.id.toLowerCase(),
  OrderPlaced: (order) => order.bookId.toLowerCase(),
}
