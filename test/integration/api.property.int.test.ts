import fc from 'fast-check'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  bookBody,
  freshKey,
  type GeneratedBody,
  idTarget,
  keyChoice,
  listQuery,
  orderPlan,
  thisBook,
  validBookBody,
  validOrderBody,
} from '../api-arbitraries/requests.ts'
import { useApiFixture } from '../api-fixture.ts'
import {
  type ApiHarness,
  createApiHarness,
  expectNothingWritten,
  expectWrote,
  plain,
} from '../api-harness.ts'
import { createIdempotencyModel, type Expected, sameValues } from '../api-model.ts'
import { fcRuns, fcSeed } from '../fc-runs.ts'
import { writtenEvent } from '../outbox-events.ts'

/**
 * Property-based tests of the API's promises on generated requests that are valid in shape and
 * sit at the boundaries of every field. On every request (see the harness): never a 5xx, the body
 * matches the published OpenAPI schema, stock never goes negative. Here: each request gets the
 * status docs/api.md's limits promise; a 2xx writes exactly its rows and exactly one event (read
 * from the WAL); a 4xx writes nothing at all.
 */
describe('the HTTP API under generated requests', () => {
  const fixture = useApiFixture('api_prop', { poolMax: 8 })
  let api: ApiHarness
  const keys = createIdempotencyModel()
  /** Ids the properties created, for the reads to find; and the books taken off sale. */
  const books: string[] = []
  const orders: string[] = []
  const removed = new Set<string>()

  beforeAll(async () => {
    console.log(`fast-check seed ${fcSeed} (replay: FC_SEED=${fcSeed})`)
    api = await createApiHarness(fixture.app, fixture.raw, fixture.events)
  })

  /** Adds a book through the API (it must succeed) and returns its id. */
  async function addBook(priceCents: number, stock: number): Promise<string> {
    const json = JSON.stringify({ title: 'Plan', author: 'A', price: priceCents / 100, stock })
    const sent = await api.send({ method: 'POST', url: '/books', route: '/books', json })
    expect(sent.status).toBe(201)
    books.push(sent.body.id)
    return sent.body.id
  }

  it('POST /books: 201 exactly when every field is within its limits, stored as sent (trimmed), one BookAdded', async () => {
    const post = (json: string, headers: Record<string, string>) =>
      api.send({ method: 'POST', url: '/books', route: '/books', json, headers })
    await fc.assert(
      fc.asyncProperty(
        bookBody,
        keyChoice,
        fc.constantFrom('none', 'same', 'other'),
        async (body, key, retry) => {
          const headers = keys.headersFor(key)
          const sent = await post(body.json, headers)
          if (
            !keys.checkWrite(
              sent,
              'POST /books',
              headers,
              body,
              keys.outcome('POST /books', headers, body) ?? { status: 201 },
            )
          )
            return
          const { title, author, price, stock } = body.values
          expect(sent.body).toMatchObject({ title, author, price, stock: plain(stock), removedAt: null })
          expectWrote(sent, { books: 1, stock: Number(stock) })
          expect(sent.events).toEqual([writtenEvent('BookAdded', sent.body.id)])
          books.push(sent.body.id)
          const read = await api.send({ method: 'GET', url: `/books/${sent.body.id}`, route: '/books/{id}' })
          expect(read.body).toEqual(sent.body)
          if (key.kind !== 'fresh' || retry === 'none') return
          // A retry with the same key: the same body replays, another body (the last "stock" wins) is refused.
          const again: GeneratedBody =
            retry === 'same'
              ? body
              : {
                  ...body,
                  json: `${body.json.slice(0, -1)},"stock":7}`,
                  values: { ...body.values, stock: 7 },
                }
          const expected = keys.outcome('POST /books', headers, again) as Expected
          keys.checkWrite(await post(again.json, headers), 'POST /books', headers, again, expected)
        },
      ),
      fcRuns(600),
    )
    // The generators must reach the database, or this tests nothing beyond the validator.
    expect(api.count('POST /books 2xx')).toBeGreaterThan(0.4 * api.count('POST /books'))
    expect(api.count('POST /books 4xx')).toBeGreaterThan(0.1 * api.count('POST /books'))
  })

  it('POST /orders: takes stock exactly, totals exactly in cents, refuses without writing, one OrderPlaced', async () => {
    await fc.assert(
      fc.asyncProperty(orderPlan, async (plan) => {
        const bookId = await addBook(plan.priceCents, plan.stock)
        if (plan.removed) {
          const sent = await api.send({ method: 'DELETE', url: `/books/${bookId}`, route: '/books/{id}' })
          expectWrote(sent, { removed: 1 })
          expect(sent.events).toEqual([writtenEvent('BookRemoved', bookId)])
          removed.add(bookId)
        }
        let stock = plan.stock
        for (const order of plan.orders) {
          const forThisBook = order.body.values.bookId === thisBook
          const body: GeneratedBody = {
            ...order.body,
            json: order.body.json.replaceAll(thisBook, bookId),
            values: { ...order.body.values, ...(forThisBook ? { bookId } : {}) },
          }
          const headers = keys.headersFor(order.key)
          const sent = await api.send({
            method: 'POST',
            url: '/orders',
            route: '/orders',
            json: body.json,
            headers,
          })
          const quantity = Number(body.values.quantity)
          const expected =
            keys.outcome('POST /orders', headers, body) ??
            (!forThisBook
              ? { status: 422, error: 'BOOK_NOT_FOUND' }
              : plan.removed
                ? { status: 409, error: 'BOOK_REMOVED' }
                : quantity > stock
                  ? { status: 409, error: 'INSUFFICIENT_STOCK' }
                  : { status: 201 })
          if (!keys.checkWrite(sent, 'POST /orders', headers, body, expected)) continue
          expect(sent.body).toMatchObject({
            customerId: String(body.values.customerId).toLowerCase(),
            bookId,
            quantity,
            total: (plan.priceCents * quantity) / 100,
            status: 'placed',
          })
          expectWrote(sent, { orders: 1, stock: -quantity })
          expect(sent.events).toEqual([writtenEvent('OrderPlaced', sent.body.id)])
          stock -= quantity
          orders.push(sent.body.id)
          const read = await api.send({
            method: 'GET',
            url: `/orders/${sent.body.id}`,
            route: '/orders/{id}',
          })
          expect(read.body).toEqual(sent.body)
        }
        const shelf = await api.send({ method: 'GET', url: `/books/${bookId}`, route: '/books/{id}' })
        if (plan.removed) expect(shelf.status).toBe(404)
        else expect(shelf.body.stock).toBe(stock)
      }),
      fcRuns(200),
    )
    expect(api.count('POST /orders 2xx')).toBeGreaterThan(0.3 * api.count('POST /orders'))
  })

  it('concurrent requests sharing one Idempotency-Key: one runs, the same body replays it, another gets 422', async () => {
    const shelfId = await addBook(1234, 1_000_000)
    const request = fc.constantFrom('books' as const, 'orders' as const).chain((scope) =>
      fc.record({
        scope: fc.constant(scope),
        variants: fc.tuple(...[0, 1].map(() => (scope === 'books' ? validBookBody : validOrderBody))),
        picks: fc.array(fc.constantFrom(0, 1), { minLength: 2, maxLength: 6 }),
        keyLength: fc.integer({ min: 8, max: 255 }),
      }),
    )
    await fc.assert(
      fc.asyncProperty(request, async ({ scope, variants, picks, keyLength }) => {
        const key = freshKey(keyLength)
        const url = `/${scope}`
        const bodies = variants.map((v) => ({
          json: v.json.replaceAll(thisBook, shelfId),
          values: scope === 'orders' ? { ...v.values, bookId: shelfId } : v.values,
        }))
        const chosen = picks.map((pick) => bodies[pick] as (typeof bodies)[number])
        const { answers, ...measured } = await api.sendAll(
          chosen.map(({ json }) => ({
            method: 'POST',
            url,
            route: url,
            json,
            headers: { 'idempotency-key': key },
          })),
        )
        const ranIndex = answers.findIndex(
          (a) => a.status === 201 && !a.response.headers['idempotent-replayed'],
        )
        const ran = answers[ranIndex]
        expect(
          answers.filter((a) => a.status === 201 && !a.response.headers['idempotent-replayed']),
        ).toHaveLength(1)
        const winner = chosen[ranIndex] as (typeof bodies)[number]
        chosen.forEach((body, i) => {
          const answer = answers[i]
          const same = sameValues(winner.values, body.values)
          expect(answer?.status).toBe(same ? 201 : 422)
          if (same) expect(answer?.body).toEqual(ran?.body)
          else expect(answer?.body.error).toBe('IDEMPOTENCY_KEY_REUSED')
        })
        expect(measured.after.keys).toBe(measured.before.keys + 1)
        const id = ran?.body.id
        if (scope === 'books') {
          expectWrote(measured, { books: 1, stock: Number(winner.values.stock) })
          expect(measured.events).toEqual([writtenEvent('BookAdded', id)])
          books.push(id)
        } else {
          expectWrote(measured, { orders: 1, stock: -Number(winner.values.quantity) })
          expect(measured.events).toEqual([writtenEvent('OrderPlaced', id)])
          orders.push(id)
        }
        keys.remember(`POST ${url}`, key, winner.values, ran?.body)
      }),
      fcRuns(60),
    )
  })

  it('reads and removals: 200 or 404 as the data says, 400 for a malformed id or query, no write but the removal', async () => {
    // Run alone (-t), no earlier test has left a book or an order to read: make one of each.
    if (books.length === 0) await addBook(100, 1)
    if (orders.length === 0) {
      const bookId = await addBook(100, 1)
      const json = JSON.stringify({ bookId, quantity: 1, customerId: crypto.randomUUID() })
      const sent = await api.send({ method: 'POST', url: '/orders', route: '/orders', json })
      expect(sent.status).toBe(201)
      orders.push(sent.body.id)
    }
    type Target = typeof idTarget extends fc.Arbitrary<infer T> ? T : never
    const idOf = (target: Target, pool: string[]) => {
      if (target.kind !== 'known') return target.id
      const id = pool[target.index % pool.length] ?? crypto.randomUUID()
      return target.upper ? id.toUpperCase() : id
    }
    const request = fc.oneof(
      listQuery.map((query) => ({ op: 'list' as const, query })),
      fc.record({
        op: fc.constantFrom('getBook' as const, 'getOrder' as const, 'delete' as const),
        target: idTarget,
      }),
    )
    await fc.assert(
      fc.asyncProperty(request, async (read) => {
        if (read.op === 'list') {
          const { limit, offset, extra } = read.query
          const query = [
            ...(limit.text === undefined ? [] : [`limit=${encodeURIComponent(limit.text)}`]),
            ...(offset.text === undefined ? [] : [`offset=${encodeURIComponent(offset.text)}`]),
            ...(extra === null ? [] : [extra]),
          ]
          const sent = await api.send({ method: 'GET', url: `/books?${query.join('&')}`, route: '/books' })
          expectNothingWritten(sent)
          const verdicts = [limit.expect, offset.expect]
          if (extra !== null || verdicts.includes('invalid')) expect(sent.status).toBe(400)
          else if (verdicts.every((v) => v === 'valid')) {
            const onSale = sent.before.books - sent.before.removed
            const [take, skip] = [Number(limit.text ?? 100), Number(offset.text ?? 0)]
            expect(sent.body).toHaveLength(Math.max(0, Math.min(take, onSale - skip)))
            for (const book of sent.body) expect(book.removedAt).toBeNull()
          }
          return
        }
        const [pool, path] = read.op === 'getOrder' ? [orders, '/orders'] : [books, '/books']
        const id = idOf(read.target, pool)
        const canonical = id.toLowerCase()
        const sent = await api.send({
          method: read.op === 'delete' ? 'DELETE' : 'GET',
          url: `${path}/${id}`,
          route: `${path}/{id}`,
        })
        const found = pool.includes(canonical) && (read.op === 'getOrder' || !removed.has(canonical))
        expect(sent.status).toBe(read.target.kind === 'malformed' ? 400 : found ? 200 : 404)
        if (sent.status === 200) expect(sent.body.id).toBe(canonical)
        if (read.op !== 'delete' || sent.status !== 200) return expectNothingWritten(sent)
        expectWrote(sent, { removed: 1 })
        expect(sent.events).toEqual([writtenEvent('BookRemoved', canonical)])
        removed.add(canonical)
      }),
      fcRuns(300),
    )
  })

  // Every test leaves the WAL with exactly the events its requests were checked against.
  afterEach(async () => {
    await api.expectNoStrayEvents()
    console.log(`generated requests by route and status: ${JSON.stringify(Object.fromEntries(api.counts))}`)
  })
})
