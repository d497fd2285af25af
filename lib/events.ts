import { z } from 'zod'

/**
 * The event contract between the API (which writes events to the outbox) and every consumer.
 * A payload is exactly the resource as the API returned it, so a consumer never needs a second
 * source to learn what happened.
 */

export const defaultTopicNamespace = 'outbox.events'

/** Debezium's EventRouter routes each event to `<namespace>.<aggregate_type>`. */
export const topicFor = (aggregateType: AggregateType, namespace = defaultTopicNamespace) =>
  `${namespace}.${aggregateType}`

/**
 * Where a consumer sets aside what it cannot apply: beside the namespace, not under it, so the
 * `<namespace>.*` subscription never matches it (see isEventTopicOf).
 */
export const deadLetterTopic = (namespace: string) => `${namespace}-dlq`

/**
 * Whether `topic` is one of `namespace`'s event topics, `<namespace>.<aggregate_type>`: what
 * `<namespace>.*` means wherever topics are listed (consumer, replay, doctor, console, tests). The
 * rest after `<namespace>.` is one aggregate name: no '.', so a nested namespace's topics
 * (`outbox.events.v2.book` under `outbox.events`) are not this one's, and no `-dlq` name, so
 * neither is a nested namespace's dead-letter topic (`outbox.events.v2-dlq`).
 */
export function isEventTopicOf(namespace: string, topic: string): boolean {
  const prefix = `${namespace}.`
  if (!topic.startsWith(prefix)) return false
  const aggregate = topic.slice(prefix.length)
  return aggregate.length > 0 && !aggregate.includes('.') && !aggregate.endsWith('-dlq')
}

export const aggregateTypes = ['book', 'order', 'shipment'] as const
export type AggregateType = (typeof aggregateTypes)[number]

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

/** Each event type with its aggregate and its payload schema: the catalogue consumers dispatch on. */
export const eventCatalogue = {
  BookAdded: { aggregateType: 'book', payload: bookSchema },
  BookRemoved: { aggregateType: 'book', payload: bookSchema.extend({ removedAt: isoTimestamp }) },
  OrderPlaced: { aggregateType: 'order', payload: orderSchema.extend({ status: z.literal('placed') }) },
  /** The compensation: the stock is back and the order will never ship. */
  OrderCancelled: {
    aggregateType: 'order',
    payload: orderSchema.extend({ status: z.literal('cancelled'), cancelledAt: isoTimestamp }),
  },
  ShipmentDispatched: {
    aggregateType: 'shipment',
    payload: shipmentSchema.extend({ status: z.literal('dispatched'), reason: z.null() }),
  },
  ShipmentFailed: {
    aggregateType: 'shipment',
    payload: shipmentSchema.extend({ status: z.literal('failed'), reason: z.string() }),
  },
} as const satisfies Record<string, { aggregateType: AggregateType; payload: z.ZodType }>

export type EventType = keyof typeof eventCatalogue
export type PayloadOf<T extends EventType> = z.infer<(typeof eventCatalogue)[T]['payload']>

export const isEventType = (value: string): value is EventType => Object.hasOwn(eventCatalogue, value)

/** An event as the outbox stores it; `id` becomes the Kafka `id` header and the inbox key. */
export interface OutboxEvent<T extends EventType = EventType> {
  id: string
  aggregateType: AggregateType
  aggregateId: string
  eventType: T
  payload: PayloadOf<T>
}

function event<T extends EventType>(
  eventType: T,
  aggregateId: string,
  payload: PayloadOf<T>,
): OutboxEvent<T> {
  return {
    id: crypto.randomUUID(),
    aggregateType: eventCatalogue[eventType].aggregateType,
    aggregateId,
    eventType,
    payload,
  }
}

export const bookAdded = (book: Book) => event('BookAdded', book.id, book)
export const bookRemoved = (book: Book & { removedAt: string }) => event('BookRemoved', book.id, book)
export const orderPlaced = (order: Order & { status: 'placed' }) => event('OrderPlaced', order.id, order)
export const orderCancelled = (order: Order & { status: 'cancelled'; cancelledAt: string }) =>
  event('OrderCancelled', order.id, order)
/** A shipment's events are keyed by its order: one partition sees an order's whole saga. */
export const shipmentDispatched = (shipment: Shipment & { status: 'dispatched'; reason: null }) =>
  event('ShipmentDispatched', shipment.orderId, shipment)
export const shipmentFailed = (shipment: Shipment & { status: 'failed'; reason: string }) =>
  event('ShipmentFailed', shipment.orderId, shipment)

/** Money crosses the API and events in main units and is stored in cents. */
export const toCents = (amount: number) => Math.round(amount * 100)
export const fromCents = (cents: number) => cents / 100
