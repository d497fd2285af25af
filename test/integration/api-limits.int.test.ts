import { describe, expect, it } from 'vitest'
import { useApiFixture } from '../api-fixture.ts'
import { footprintOf } from '../api-harness.ts'
import { writtenEvent } from '../outbox-events.ts'

/**
 * Regression tests for input that is valid in shape but that the database cannot hold: each was a
 * 500 once. Every limit is enforced at the edge, as a 400 naming the field, writing nothing.
 */
describe('the API at the limits of what Postgres stores', () => {
  const api = useApiFixture('api_limits')
  const rowCounts = () => footprintOf(api.raw)
  const postJson = (url: string, json: string, headers: Record<string, string> = {}) =>
    api.app.inject({
      method: 'POST',
      url,
      payload: json,
      headers: { 'content-type': 'application/json', ...headers },
    })
  const book = (fields: Record<string, unknown>) =>
    JSON.stringify({ title: 'T', author: 'A', price: 1.5, stock: 1, ...fields })

  // JSON text, not objects: `\u0000` and a lone surrogate must reach the server as JSON escapes.
  it.each([
    ['a NUL in the title', book({ title: 'Du\u0000ne' }), 'body/title'],
    ['a NUL in the author', book({ author: '\u0000' }), 'body/author'],
    ['a lone high surrogate in the title', book({ title: 'a\ud800b' }), 'body/title'],
    ['a lone low surrogate in the author', book({ author: '\udc00' }), 'body/author'],
  ])('POST /books with %s → 400 naming the field, writing nothing', async (_name, json, field) => {
    await api.events.take()
    const before = await rowCounts()
    const keyed: Record<string, string> = { 'idempotency-key': crypto.randomUUID() }
    for (const headers of [{}, keyed]) {
      const response = await postJson('/books', json, headers)
      expect(response.statusCode).toBe(400)
      expect(response.json()).toMatchObject({ error: 'VALIDATION_FAILED' })
      expect(response.json().message).toContain(field)
    }
    expect(await rowCounts()).toEqual(before)
    expect(await api.events.take()).toEqual([])
  })

  it('stores 200 code points (as zod counts) of astral and combining characters exactly as sent', async () => {
    const title = `${'😀'.repeat(198)}e\u0301`
    expect([...title].length).toBe(200)
    const created = await postJson('/books', book({ title, author: '\u{10FFFF}' }))
    expect(created.statusCode).toBe(201)
    expect(created.json()).toMatchObject({ title, author: '\u{10FFFF}' })
    expect((await api.app.inject({ url: `/books/${created.json().id}` })).json().title).toBe(title)
    expect((await postJson('/books', book({ title: `${title}x` }))).statusCode).toBe(400)
  })

  it.each([1e-9, 5e-324, 0.001, 0.005, 0.009, 12.990_000_001, 100_000.01, 1e21, -0, -0.01])(
    'POST /books with price %d → 400 (checked in cents, as stored), writing nothing',
    async (price) => {
      await api.events.take()
      const before = await rowCounts()
      const response = await postJson('/books', book({ price }))
      expect(response.statusCode).toBe(400)
      expect(response.json().message).toMatch(/body\/price/)
      expect(await rowCounts()).toEqual(before)
      expect(await api.events.take()).toEqual([])
    },
  )

  it.each([0.01, 0.1, 1.1, 12.99, 99_999.99, 100_000])(
    'POST /books with price %d → 201 with that exact price',
    async (price) => {
      const response = await postJson('/books', book({ price }))
      expect(response.statusCode).toBe(201)
      expect(response.json().price).toBe(price)
    },
  )

  it.each([
    [99_999.99, 99_999_990, '9999999000'],
    [100_000, 100_000_000, '10000000000'],
  ])(
    'an order of 1,000 copies at %d totals %d exactly: no 32-bit overflow',
    async (price, total, totalCents) => {
      const created = (await postJson('/books', book({ price, stock: 1_000_000 }))).json()
      await api.events.take()
      const order = await postJson(
        '/orders',
        JSON.stringify({ customerId: crypto.randomUUID(), bookId: created.id, quantity: 1_000 }),
      )
      expect(order.statusCode).toBe(201)
      expect(order.json().total).toBe(total)
      expect((await api.app.inject({ url: `/orders/${order.json().id}` })).json().total).toBe(total)
      const [row] = await api.raw<{ cents: string }[]>`
        select total_cents::text as cents from orders where id = ${order.json().id}`
      expect(row?.cents).toBe(totalCents)
      expect(await api.events.take()).toEqual([writtenEvent('OrderPlaced', order.json().id)])
      expect((await api.app.inject({ url: `/books/${created.id}` })).json().stock).toBe(999_000)
    },
  )
})
