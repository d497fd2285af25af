import { z } from 'zod'
import { bookSchema, fromCents, orderSchema, toCents } from '../../lib/events.ts'

/** The most a book may cost, in cents: the bound `price` is checked against. */
export const maxPriceCents = 10_000_000

/**
 * A price in main units, stored as integer cents (books_price_positive: more than 0 cents), so
 * every bound is a bound on the cents that get stored: from 1 to `maxPriceCents`, and a whole
 * number of them. "Whole" is exact: 12.99 is accepted because it is the number 1299 / 100 gives,
 * 12.999 and 1e-9 are refused rather than rounded (1e-9 would round to 0 cents).
 */
const money = z
  .number()
  .min(fromCents(1))
  .max(fromCents(maxPriceCents))
  .refine((value) => fromCents(toCents(value)) === value, 'must have at most two decimals')
  .describe(`From 0.01 to ${fromCents(maxPriceCents)}, at most two decimals.`)

/**
 * Text Postgres stores exactly as sent, 1 to `max` code points (as zod counts) after trimming.
 * A NUL is refused (a text column cannot hold one), and so is a lone UTF-16 surrogate (UTF-8
 * cannot encode one: it would be stored as U+FFFD, silently another string).
 */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL (\\u0000)')
    .refine((value) => !/\p{Surrogate}/u.test(value), 'must not contain a lone UTF-16 surrogate')
    .describe(`1 to ${max} Unicode code points after trimming whitespace; no NUL, no lone surrogate.`)

export const addBookBody = z.strictObject({
  title: text(200),
  author: text(200),
  price: money,
  stock: z.number().int().min(0).max(1_000_000),
})

export const warehouseCapacityBody = z.strictObject({
  capacity: z
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .nullable()
    .describe(
      'Most copies of this book per shipment; an order above it is cancelled by fulfilment. null: no limit.',
    ),
})

export const placeOrderBody = z.strictObject({
  customerId: z.uuid(),
  bookId: z.uuid(),
  quantity: z.number().int().min(1).max(1_000),
})

export const idParams = z.strictObject({ id: z.uuid() })

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
})

/** Printable ASCII, as the IETF Idempotency-Key draft expects of a key. */
export const writeHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 printable ASCII characters')
    .optional(),
})

export const errorBody = z.object({
  error: z.string(),
  message: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
})

/**
 * What Fastify itself answers before a route runs when a request carries a body: 413 over
 * API_BODY_LIMIT_BYTES, 415 for a media type other than JSON. Declared so the spec is complete.
 */
export const bodyErrors = { 413: errorBody, 415: errorBody }

export { bookSchema, orderSchema }

const traceparentPattern = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/

/** The W3C traceparent header if well formed; a malformed one is dropped, never an error. */
export function traceContextOf(headers: Record<string, unknown>): string | undefined {
  const value = headers.traceparent
  return typeof value === 'string' && traceparentPattern.test(value) ? value : undefined
}

/** What a write use case takes from its request: the Idempotency-Key and the trace context. */
export function writeContextOf(
  headers: { 'idempotency-key'?: string } & Record<string, unknown>,
  idempotencyKeyTtlHours: number,
) {
  return {
    idempotencyKey: headers['idempotency-key'],
    idempotencyKeyTtlHours,
    traceContext: traceContextOf(headers),
  }
}
