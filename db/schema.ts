import { sql } from 'drizzle-orm'
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uuid,
} from 'drizzle-orm/pg-core'
import {
  heartbeatTable,
  inboxHorizonTable,
  inboxTable,
  outboxTable,
  parkedLettersTable,
} from 'outbox-cdc/drizzle'

/**
 * The one schema of the project. The API owns `books`, `orders`, `outbox` and
 * `idempotency_keys` (its consumer moves orders on from shipment events); the consumer owns
 * `consumed_events` and `catalogue`, which it builds from events alone; the fulfilment service
 * owns `shipments`, `fulfilment_inbox` and `fulfilment_outbox` (see fulfilment/). Money is
 * integer cents so totals never pick up float error.
 */

export const books = pgTable(
  'books',
  {
    id: uuid('id').primaryKey(),
    title: text('title').notNull(),
    author: text('author').notNull(),
    priceCents: integer('price_cents').notNull(),
    stock: integer('stock').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** Books are removed, not deleted: orders keep pointing at them. */
    removedAt: timestamp('removed_at', { withTimezone: true, mode: 'date' }),
    /**
     * The most copies of this book the warehouse packs into one shipment; null: no limit. An
     * order placed above it is cancelled by fulfilment (the saga's failing path, on purpose).
     */
    warehouseCapacity: integer('warehouse_capacity'),
  },
  (t) => [
    check('books_price_positive', sql`${t.priceCents} > 0`),
    check('books_stock_non_negative', sql`${t.stock} >= 0`),
    check('books_warehouse_capacity_non_negative', sql`${t.warehouseCapacity} >= 0`),
  ],
)

export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey(),
    customerId: uuid('customer_id').notNull(),
    bookId: uuid('book_id')
      .notNull()
      .references(() => books.id),
    quantity: integer('quantity').notNull(),
    /**
     * bigint: 1,000 copies at the top price is 10^10 cents, past a 32-bit integer. Read as a JS
     * number, exact while below 2^53 cents (about 90 trillion in main units).
     */
    totalCents: bigint('total_cents', { mode: 'number' }).notNull(),
    /** placed → fulfilled or placed → cancelled, never back (moved by consumer/order-saga.ts). */
    status: text('status', { enum: ['placed', 'fulfilled', 'cancelled'] }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** The book's warehouse capacity when the order was placed: the input of fulfilment's rule. */
    warehouseCapacity: integer('warehouse_capacity'),
    fulfilledAt: timestamp('fulfilled_at', { withTimezone: true, mode: 'date' }),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true, mode: 'date' }),
    /** Why fulfilment could not ship it (the ShipmentFailed event's reason). */
    cancelReason: text('cancel_reason'),
  },
  (t) => [
    check('orders_quantity_positive', sql`${t.quantity} > 0`),
    check(
      'orders_status_times',
      sql`(${t.status} = 'fulfilled') = (${t.fulfilledAt} is not null) and (${t.status} = 'cancelled') = (${t.cancelledAt} is not null)`,
    ),
    index('orders_book_id_idx').on(t.bookId),
    // The doctor's freshness check asks for the newest of each write that appends an event, as
    // often as the console samples (every 3 s): without these, a scan of every order each time.
    index('orders_created_at_idx').on(t.createdAt),
    index('orders_cancelled_at_idx').on(t.cancelledAt).where(sql`${t.cancelledAt} is not null`),
    // The doctor's saga check counts the orders still placed (few: the saga settles each within
    // seconds), as often again; the price is that settling an order is no longer a HOT update.
    index('orders_placed_created_at_idx').on(t.createdAt).where(sql`${t.status} = 'placed'`),
  ],
)

/**
 * Debezium's EventRouter reads this table from the WAL. Rows are deleted in the transaction that
 * inserts them (see appendOutboxEvent): the insert is in the WAL, so the table stays empty. Its
 * columns are the toolkit's (outboxTable), as are the heartbeat's and the inboxes'.
 */
export const outbox = outboxTable('outbox')

/**
 * Written by Debezium's heartbeat.action.query so a quiet outbox still has changes in the
 * publication: each one lets the slot's confirmed position move, releasing WAL that other tables
 * and databases wrote meanwhile. One row: the action deletes and inserts in one statement.
 */
export const outboxHeartbeat = heartbeatTable('outbox_heartbeat')

/**
 * One row per Idempotency-Key: the request's fingerprint and the response it got. A row replays
 * for the API's key TTL after `created_at` (database clock); the API then deletes it, oldest
 * first, by the `created_at` index.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    /** `POST /books` and `POST /orders` keep separate key spaces. */
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    responseBody: jsonb('response_body').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.key] }),
    index('idempotency_keys_created_at_idx').on(t.createdAt),
  ],
)

/**
 * The order service consumer's inbox: an event id here has been applied and must not be applied
 * again. Fulfilment has one of its own; the same consumer runtime writes both.
 */
export const consumedEvents = inboxTable('consumed_events')

/** How far each inbox's pruner has deleted (both inboxes': the row names its inbox). */
export const inboxHorizon = inboxHorizonTable('outbox_cdc_inbox_horizon')

/** The keys each consumer group holds back behind a dead letter (both groups': the row names its group). */
export const parkedLetters = parkedLettersTable('outbox_cdc_parked_letters')

/** Read model built only from events: what the shop sells and how many copies went. */
export const catalogue = pgTable('catalogue', {
  bookId: uuid('book_id').primaryKey(),
  title: text('title'),
  author: text('author'),
  priceCents: integer('price_cents'),
  unitsSold: integer('units_sold').notNull().default(0),
  revenueCents: bigint('revenue_cents', { mode: 'number' }).notNull().default(0),
  removedAt: timestamp('removed_at', { withTimezone: true, mode: 'date' }),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
})

/*
 * The fulfilment service's tables. It shares the database in the local stack only; it reads and
 * writes nothing else, and nothing else touches these (docs/events-and-saga.md says how to split it out).
 */

/** One shipment per order (its id is the order's): the unique key makes a decision once. */
export const shipments = pgTable(
  'shipments',
  {
    orderId: uuid('order_id').primaryKey(),
    bookId: uuid('book_id').notNull(),
    quantity: integer('quantity').notNull(),
    status: text('status', { enum: ['dispatched', 'failed'] }).notNull(),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    check('shipments_reason', sql`(${t.status} = 'failed') = (${t.reason} is not null)`),
    // The newest shipment, for the doctor's freshness check (see orders_created_at_idx).
    index('shipments_created_at_idx').on(t.createdAt),
  ],
)

/** Fulfilment's inbox: the same columns as the consumer's, so one runtime serves both. */
export const fulfilmentInbox = inboxTable('fulfilment_inbox')

/** Fulfilment's own outbox, read by the same connector as `outbox` (same columns, same router). */
export const fulfilmentOutbox = outboxTable('fulfilment_outbox')
