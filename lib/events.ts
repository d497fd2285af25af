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
 * `<namespace>.*` subscription never matches it.
 */
export const deadLetterTopic = (namespace: string) => `${namespace}-dlq`

export const aggregateTypes = ['book', 'order'] as const
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
})
export type Book = z.infer<typeof bookSchema>

export const orderSchema = z.object({
  id: z.uuid(),
  customerId: z.uuid(),
  bookId: z.uuid(),
  quantity: z.number().int(),
  total: z.number(),
  status: z.literal('placed'),
  createdAt: isoTimestamp,
})
export type Order = z.infer<typeof orderSchema>

/** Each event type with its aggregate and its payload schema: the catalogue consumers dispatch on. */
export const eventCatalogue = {
  BookAdded: { aggregateType: 'book', payload: bookSchema },
  BookRemoved: { aggregateType: 'book', payload: bookSchema.extend({ removedAt: isoTimestamp }) },
  OrderPlaced: { aggregateType: 'order', payload: orderSchema },
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
export const orderPlaced = (order: Order) => event('OrderPlaced', order.id, order)

/** Money crosses the API and events in main units and is stored in cents. */
export const toCents = (amount: number) => Math.round(amount * 100)
export const fromCents = (cents: number) => cents / 100
