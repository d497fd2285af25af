import { Ajv, type ValidateFunction } from 'ajv'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type postgres from 'postgres'
import { expect } from 'vitest'
import type { openOutboxEventReader, WrittenEvent } from './outbox-events.ts'

/** What a request may change: rows per table, copies on the shelf, removed books. */
export interface Footprint {
  books: number
  orders: number
  keys: number
  removed: number
  stock: number
  minStock: number
}

export async function footprintOf(sql: postgres.Sql): Promise<Footprint> {
  const [row] = await sql<Footprint[]>`
    select (select count(*)::int from books) as books,
           (select count(*)::int from orders) as orders,
           (select count(*)::int from idempotency_keys) as keys,
           (select count(*)::int from books where removed_at is not null) as removed,
           (select coalesce(sum(stock), 0)::float8 from books) as stock,
           (select coalesce(min(stock), 0)::int from books) as "minStock"`
  if (!row) throw new Error('footprint query returned no row')
  return row
}

export interface Request {
  method: 'GET' | 'POST' | 'DELETE'
  url: string
  /** The spec's path template (`/books/{id}`), to find the response schema. */
  route: string
  /** Raw JSON text, sent as is (duplicate keys, number spellings and escapes survive). */
  json?: string
  headers?: Record<string, string>
}

export interface Answer {
  response: LightMyRequestResponse
  status: number
  /** The body parsed as JSON, already checked against the published schema for its status. */
  // biome-ignore lint/suspicious/noExplicitAny: the schema check above is what types it
  body: any
}

export interface Sent extends Answer {
  before: Footprint
  after: Footprint
  /** Events committed while the request ran, read from the WAL. */
  events: WrittenEvent[]
}

/**
 * Drives the app and checks what holds for every response: never a 5xx, and the body matches
 * the schema the app publishes at /docs/json for that route, method and status code.
 */
export async function createApiHarness(
  app: FastifyInstance,
  sql: postgres.Sql,
  events: Awaited<ReturnType<typeof openOutboxEventReader>>,
) {
  const spec = (await app.inject({ url: '/docs/json' })).json()
  // OpenAPI 3.0 keywords ajv does not know (nullable, example) are annotations here.
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true })
  const validators = new Map<string, ValidateFunction>()
  const counts = new Map<string, number>()
  let last: Footprint | undefined

  function validatorFor(route: string, method: string, status: number): ValidateFunction {
    const id = `${method} ${route} ${status}`
    const cached = validators.get(id)
    if (cached) return cached
    const schema =
      spec.paths?.[route]?.[method.toLowerCase()]?.responses?.[status]?.content?.['application/json']?.schema
    expect(schema, `the published spec declares ${status} for ${method} ${route}`).toBeDefined()
    const validate = ajv.compile(schema)
    validators.set(id, validate)
    return validate
  }

  async function inject(request: Request): Promise<Answer> {
    const response = await app.inject({
      method: request.method,
      url: request.url,
      ...(request.json === undefined
        ? { headers: request.headers ?? {} }
        : { payload: request.json, headers: { 'content-type': 'application/json', ...request.headers } }),
    })
    const label = `${request.method} ${request.route} ${Math.floor(response.statusCode / 100)}xx`
    counts.set(label, (counts.get(label) ?? 0) + 1)
    const context = `${request.method} ${request.url} ${request.json ?? ''} → ${response.statusCode} ${response.body}`
    expect(response.statusCode, context).toBeLessThan(500)
    const body = response.json()
    const validate = validatorFor(request.route, request.method, response.statusCode)
    expect(
      validate(body) ? [] : validate.errors,
      `response matches the published schema: ${context}`,
    ).toEqual([])
    return { response, status: response.statusCode, body }
  }

  /**
   * Runs `run`, measuring what it wrote. Reading the WAL costs milliseconds, so it is read after
   * writes only: an event a GET wrote would show up at the next write, and fail that check.
   */
  async function measure<T>(run: () => Promise<T>, readEvents: boolean) {
    // Every request to this database goes through here, so the last footprint still holds.
    const before = last ?? (await footprintOf(sql))
    if (!last) await events.take()
    last = undefined
    const answers = await run()
    const after = await footprintOf(sql)
    const written = readEvents ? await events.take() : []
    last = after
    expect(after.minStock, 'stock never goes negative').toBeGreaterThanOrEqual(0)
    return { answers, before, after, events: written }
  }

  return {
    /**
     * Sends one request, measuring what it wrote. `route` is the spec's path template
     * (`/books/{id}`); `json` is raw JSON text, sent as is.
     */
    async send(request: Request): Promise<Sent> {
      const { answers, ...measured } = await measure(() => inject(request), request.method !== 'GET')
      return { ...answers, ...measured }
    },
    /** Sends `requests` concurrently; the footprint and events are those of all of them. */
    async sendAll(requests: Request[]) {
      return measure(() => Promise.all(requests.map(inject)), true)
    },
    /** Requests sent so far, by method, route and status class (`POST /books 2xx`). */
    counts,
    /** Fails if any event was written since the last write was measured (by a GET, say). */
    async expectNoStrayEvents() {
      expect(await events.take(), 'events written by reads').toEqual([])
    },
    count(prefix: string) {
      let total = 0
      for (const [label, n] of counts) if (label.startsWith(prefix)) total += n
      return total
    },
  }
}

export type ApiHarness = Awaited<ReturnType<typeof createApiHarness>>

/** A refusal writes nothing: no row in any table, no stock taken, no event. */
export function expectNothingWritten(sent: Pick<Sent, 'before' | 'after' | 'events' | 'status'>) {
  expect(sent.after, `nothing written for ${sent.status}`).toEqual(sent.before)
  expect(sent.events).toEqual([])
}

/** A write changed exactly this: rows added per table, books removed, copies added or taken. */
export function expectWrote(
  sent: Pick<Sent, 'before' | 'after'>,
  delta: Partial<Pick<Footprint, 'books' | 'orders' | 'removed' | 'stock'>>,
) {
  const { keys: _keys, minStock: _min, ...after } = sent.after
  const { keys: _k, minStock: _m, ...before } = sent.before
  expect(after).toEqual({
    books: before.books + (delta.books ?? 0),
    orders: before.orders + (delta.orders ?? 0),
    removed: before.removed + (delta.removed ?? 0),
    stock: before.stock + (delta.stock ?? 0),
  })
}

/** `-0` and `0` are the same stock; JSON answers say 0. */
export const plain = (n: unknown) => (typeof n === 'number' ? n + 0 : n)
