import {
  deadLetterTopicOf,
  defaultNamespace,
  defineEvent,
  defineEvents,
  type EventTypeOf,
  isEventTopicOf,
  type PayloadOf as RegistryPayload,
  type OutboxEvent as ToolkitOutboxEvent,
  topicOf,
} from 'outbox-cdc'
import { z } from 'zod'

/**
 * The event contract between the API (which writes events to the outbox) and every consumer.
 * A payload is exactly the resource as the API returned it, so a consumer never needs a second
 * source to learn what happened.
 */

export const defaultTopicNamespace = defaultNamespace

/** Debezium's EventRouter routes each event to `<namespace>.<aggregate_type>`. */
export const topicFor = (aggregateType: AggregateType, namespace = defaultTopicNamespace) =>
  topicOf(namespace, aggregateType)

export { deadLetterTopicOf as deadLetterTopic, isEventTopicOf }

const isoTimestamp = z.iso.datetime({ offset: true })

export const bookSchema = z.object({
  id: z.uuid(),
  title: z.string(),
  author: z.string(),
  /** In the currency's main unit, at most two decimals (12.99). */
  price: z.number(),
  stock: z.number().int(),
  createdAt: isoTimestamp,
  updatedAt: isoTimestamp,
  removedAt: isoTimestamp.nullable(),
  /** Most copies per shipment (fulfilment cancels an order above it); null: no limit. Absent in events from before it existed. */
  warehouseCapacity: z.number().int().nullable().optional(),
})
export type Book = z.infer<typeof bookSchema>

export const orderSchema = z.object({
  id: z.uuid(),
  customerId: z.uuid(),
  bookId: z.uuid(),
  quantity: z.number().int(),
  total: z.number(),
  /** placed → fulfilled or placed → cancelled; never back. */
  status: z.enum(['placed', 'fulfilled', 'cancelled']),
  createdAt: isoTimestamp,
  /**
   * The book's warehouse capacity when the order was placed: fulfilment decides from the event
   * alone, the same way on every redelivery. Absent in events from before it existed (no limit).
   */
  warehouseCapacity: z.number().int().nullable().optional(),
  fulfilledAt: isoTimestamp.nullable().optional(),
  cancelledAt: isoTimestamp.nullable().optional(),
  cancelReason: z.string().nullable().optional(),
})
export type Order = z.infer<typeof orderSchema>

/** Fulfilment's answer to one order: one shipment per order, keyed by the order's id. */
export const shipmentSchema = z.object({
  orderId: z.uuid(),
  bookId: z.uuid(),
  quantity: z.number().int(),
  status: z.enum(['dispatched', 'failed']),
  /** Why it could not be shipped; null when dispatched. */
  reason: z.string().nullable(),
  createdAt: isoTimestamp,
})
export type Shipment = z.infer<typeof shipmentSchema>

/**
 * The bookstore's events, defined once: from here come the typed appends, the handlers' types,
 * the topic names and each payload's JSON Schema. A shipment's events are keyed by its order, so
 * one partition sees an order's whole saga.
 */
export const bookstoreEvents = defineEvents([
  defineEvent({ type: 'BookAdded', aggregate: 'book', payload: bookSchema, aggregateId: (b) => b.id }),
  defineEvent({
    type: 'BookRemoved',
    aggregate: 'book',
    payload: bookSchema.extend({ removedAt: isoTimestamp }),
    aggregateId: (b) => b.id,
  }),
  defineEvent({
    type: 'OrderPlaced',
    aggregate: 'order',
    payload: orderSchema.extend({ status: z.literal('placed') }),
    aggregateId: (o) => o.id,
  }),
  /** The compensation: the stock is back and the order will never ship. */
  defineEvent({
    type: 'OrderCancelled',
    aggregate: 'order',
    payload: orderSchema.extend({ status: z.literal('cancelled'), cancelledAt: isoTimestamp }),
    aggregateId: (o) => o.id,
  }),
  defineEvent({
    type: 'ShipmentDispatched',
    aggregate: 'shipment',
    payload: shipmentSchema.extend({ status: z.literal('dispatched'), reason: z.null() }),
    aggregateId: (s) => s.orderId,
  }),
  defineEvent({
    type: 'ShipmentFailed',
    aggregate: 'shipment',
    payload: shipmentSchema.extend({ status: z.literal('failed'), reason: z.string() }),
    aggregateId: (s) => s.orderId,
  }),
])

export const aggregateTypes = bookstoreEvents.aggregates
export type AggregateType = (typeof aggregateTypes)[number]

export type EventType = EventTypeOf<typeof bookstoreEvents>
export type PayloadOf<T extends EventType> = RegistryPayload<typeof bookstoreEvents, T>

export const isEventType = (value: string): value is EventType => bookstoreEvents.isEventType(value)

/** An event as the outbox stores it; `id` becomes the Kafka `id` header and the inbox key. */
export type OutboxEvent<T extends EventType = EventType> = ToolkitOutboxEvent<T, PayloadOf<T>>

/*
 * Built without a second parse: each payload is built by the code that wrote its row (the API's
 * or the saga's), typed by its schema, and is the row as returned; the consumer parses on arrival.
 */
function event<T extends EventType>(eventType: T, payload: PayloadOf<T>): OutboxEvent<T> {
  const definition = bookstoreEvents.definitionOf(eventType)
  return {
    id: crypto.randomUUID(),
    aggregateType: definition.aggregate,
    aggregateId: (definition.aggregateId as (p: PayloadOf<T>) => string)(payload),
    eventType,
    payload,
  }
}

export const bookAdded = (book: Book) => event('BookAdded', book)
export const bookRemoved = (book: Book & { removedAt: string }) => event('BookRemoved', book)
export const orderPlaced = (order: Order & { status: 'placed' }) => event('OrderPlaced', order)
export const orderCancelled = (order: Order & { status: 'cancelled'; cancelledAt: string }) =>
  event('OrderCancelled', order)
export const shipmentDispatched = (shipment: Shipment & { status: 'dispatched'; reason: null }) =>
  event('ShipmentDispatched', shipment)
export const shipmentFailed = (shipment: Shipment & { status: 'failed'; reason: string }) =>
  event('ShipmentFailed', shipment)

/** Money crosses the API and events in main units and is stored in cents. */
export const toCents = (amount: number) => Math.round(amount * 100)
export const fromCents = (cents: number) => cents / 100
