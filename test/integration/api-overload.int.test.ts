import { describe, expect, it, onTestFinished } from 'vitest'
import { useApiFixture } from '../api-fixture.ts'
import { footprintOf } from '../api-harness.ts'

/**
 * Overload is shed, not queued (docs/api.md, Overload): with its one connection held by an order
 * that waits on a row lock, the API answers what it cannot take at once with 503 OVERLOADED and
 * Retry-After, writes nothing for it, and takes requests again by itself once the load is gone.
 * Each block builds its app with limits small enough to reach on purpose.
 */
// inject() starts a request only once it is awaited: Promise.resolve starts it now.
const placeOrder = (api: ReturnType<typeof useApiFixture>, bookId: string) =>
  Promise.resolve(
    api.app.inject({
      method: 'POST',
      url: '/orders',
      headers: { 'idempotency-key': crypto.randomUUID() },
      payload: { customerId: crypto.randomUUID(), bookId, quantity: 1 },
    }),
  )

/** A book, and a second connection holding its row locked, so every order for it waits. */
async function lockedBook(api: ReturnType<typeof useApiFixture>) {
  const created = await api.app.inject({
    method: 'POST',
    url: '/books',
    payload: { title: 'Load', author: 'L', price: 1, stock: 1000 },
  })
  expect(created.statusCode).toBe(201)
  const bookId = created.json().id as string
  const blocker = await api.raw.reserve()
  await blocker`begin`
  await blocker`select 1 from books where id = ${bookId} for update`
  let released = false
  return {
    bookId,
    // Once only (the test calls it, and the cleanup again in case the test failed first).
    release: async () => {
      if (released) return
      released = true
      await blocker`rollback`
      blocker.release()
    },
  }
}

describe('requests beyond the most in flight', () => {
  const api = useApiFixture('api_shed_inflight', {
    poolMax: 1,
    rawMax: 2,
    app: { overload: { maxInFlight: 2, maxEventLoopDelayMs: 0, maxDatabaseLatencyMs: 0, retryAfterS: 3 } },
  })

  it('are answered 503 OVERLOADED with Retry-After at once, write nothing, and the API takes requests again once they finish', async () => {
    const { bookId, release } = await lockedBook(api)
    onTestFinished(release)
    const before = await footprintOf(api.raw)
    const waiting = [placeOrder(api, bookId), placeOrder(api, bookId)]
    const inFlight = async () =>
      /http_requests_in_flight (\d+)/.exec((await api.app.inject({ url: '/metrics' })).body)?.[1]
    await expect.poll(inFlight, { timeout: 10_000 }).toBe('2')
    // Both admitted orders wait on the lock; every request past them is shed without waiting.
    const shed = await Promise.all([1, 2, 3, 4].map(() => placeOrder(api, bookId)))
    for (const response of shed) {
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('3')
      expect(response.json()).toMatchObject({ error: 'OVERLOADED' })
      expect(response.json().message).toMatch(/2 requests in flight, the most is 2/)
    }
    // The metrics stay readable while it sheds.
    const metrics = await api.app.inject({ url: '/metrics' })
    expect(metrics.statusCode).toBe(200)
    expect(metrics.body).toMatch(/http_requests_shed_total\{signal="in-flight"\} 4/)

    await release()
    expect((await Promise.all(waiting)).map((r) => r.statusCode)).toEqual([201, 201])
    expect((await placeOrder(api, bookId)).statusCode).toBe(201)
    // Three orders, the admitted ones: nothing of the shed four.
    expect((await footprintOf(api.raw)).orders).toBe(before.orders + 3)
  })
})

describe('a database slower than the limit', () => {
  const api = useApiFixture('api_shed_db', {
    poolMax: 1,
    rawMax: 2,
    app: { overload: { maxInFlight: 0, maxEventLoopDelayMs: 0, maxDatabaseLatencyMs: 100, retryAfterS: 1 } },
  })

  it('sheds requests while a probe through the pool is slow, and stops shedding by itself once it is fast again', async () => {
    const { bookId, release } = await lockedBook(api)
    onTestFinished(release)
    // The order holds the pool's only connection: the probe waits behind it.
    const held = placeOrder(api, bookId)
    const unmatched = async () => (await api.app.inject({ url: '/no-such-route' })).statusCode
    await expect.poll(unmatched, { timeout: 10_000, interval: 100 }).toBe(503)
    const before = await footprintOf(api.raw)
    const shed = await api.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title: 'Shed', author: 'S', price: 1, stock: 1 },
    })
    expect(shed.statusCode).toBe(503)
    expect(shed.json().message).toMatch(/the database took \d+ ms or more to answer, the most is 100 ms/)
    expect(await footprintOf(api.raw)).toEqual(before)

    await release()
    expect((await held).statusCode).toBe(201)
    await expect.poll(unmatched, { timeout: 10_000, interval: 100 }).toBe(404)
  })
})
