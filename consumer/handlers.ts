import { defineInboxApp } from 'outbox-cdc'
import { bookstoreEvents } from '../lib/events.ts'
import {
  markCatalogueBooksRemoved,
  recordCancellations,
  recordSales,
  upsertCatalogueBooks,
} from './catalogue.ts'
import { cancelOrders, fulfilOrders } from './order-saga.ts'

/**
 * The order service's consumer: the catalogue read model, and the orders moved on by shipments.
 * Each handler takes all of a batch's new events of its type at once (oldest first), inside the
 * transaction that records them in the inbox. Lock keys are the read-model rows each event writes
 * (the catalogue's book id): a batch locks them first, in one sorted pass, so batches running at
 * once never wait on each other in a cycle. A dispatch moves its own order alone and needs none;
 * a cancellation gives copies back to its book's stock row (only if the event names the order's
 * own book: see cancelOrders).
 */
export const orderSide = defineInboxApp({
  registry: bookstoreEvents,
  inbox: 'consumed_events',
  handlers: {
    BookAdded: (sql, tx, books) => upsertCatalogueBooks(sql, tx, books),
    BookRemoved: (sql, tx, books) => markCatalogueBooksRemoved(sql, tx, books),
    OrderPlaced: (sql, tx, orders) => recordSales(sql, tx, orders),
    OrderCancelled: (sql, tx, orders) => recordCancellations(sql, tx, orders),
    ShipmentDispatched: (sql, tx, shipments) => fulfilOrders(sql, tx, shipments),
    ShipmentFailed: (sql, tx, shipments, events) => cancelOrders(sql, tx, shipments, events),
  },
  lockKey: {
    BookAdded: (book) => book.id.toLowerCase(),
    BookRemoved: (book) => book.id.toLowerCase(),
    OrderPlaced: (order) => order.bookId.toLowerCase(),
    OrderCancelled: (order) => order.bookId.toLowerCase(),
    ShipmentFailed: (shipment) => shipment.bookId.toLowerCase(),
  },
})
