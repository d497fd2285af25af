import type { EventType, PayloadOf } from '../lib/events.ts'
import type { InboxApp } from './apply-event.ts'
import {
  markCatalogueBooksRemoved,
  recordCancellations,
  recordSales,
  type Sql,
  type TxGuard,
  upsertCatalogueBooks,
} from './catalogue.ts'
import { cancelOrders, fulfilOrders, type SagaNotes } from './order-saga.ts'

export type { RefusedTransition } from './order-saga.ts'

/**
 * How each event type changes the read model, for all of a batch's new events of that type at
 * once (oldest first), inside the transaction that records them in the inbox. One event is a
 * batch of one.
 */
export type BatchHandler<T extends EventType> = (
  sql: Sql,
  tx: TxGuard,
  payloads: PayloadOf<T>[],
  notes: SagaNotes,
) => Promise<void>

export const batchHandlers: { [T in EventType]: BatchHandler<T> } = {
  BookAdded: (sql, tx, books) => upsertCatalogueBooks(sql, tx, books),
  BookRemoved: (sql, tx, books) => markCatalogueBooksRemoved(sql, tx, books),
  OrderPlaced: (sql, tx, orders) => recordSales(sql, tx, orders),
  OrderCancelled: (sql, tx, orders) => recordCancellations(sql, tx, orders),
  ShipmentDispatched: (sql, tx, shipments, notes) => fulfilOrders(sql, tx, shipments, notes),
  ShipmentFailed: (sql, tx, shipments, notes) => cancelOrders(sql, tx, shipments, notes),
}

/**
 * The read-model row each event writes (the catalogue's book id). A batch locks these keys first,
 * in one sorted pass, so batches running at once (other partitions, other consumer processes)
 * never wait on each other in a cycle.
 */
export const readModelKey: { [T in EventType]?: (payload: PayloadOf<T>) => string } = {
  BookAdded: (book) => book.id.toLowerCase(),
  BookRemoved: (book) => book.id.toLowerCase(),
  OrderPlaced: (order) => order.bookId.toLowerCase(),
  OrderCancelled: (order) => order.bookId.toLowerCase(),
  // The stock row a cancellation gives copies back to (only if the event names the order's own
  // book: see cancelOrders). A dispatch moves its own order alone and needs no lock.
  ShipmentFailed: (shipment) => shipment.bookId.toLowerCase(),
}

/** The order service's consumer: the catalogue read model, and the orders moved on by shipments. */
export const orderSide: InboxApp = {
  inbox: 'consumed_events',
  handlers: batchHandlers as InboxApp['handlers'],
  lockKey: readModelKey as InboxApp['lockKey'],
}
