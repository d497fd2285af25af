import { describe, expect, it } from 'vitest'
import { buildApp } from '../../api/app.ts'
import { expireIdempotencyKeys } from '../../api/idempotency-key-expiry.ts'
import { useApiFixture } from '../api-fixture.ts'
import { writtenEvent } from '../outbox-events.ts'

const keyTtlHours = 24

/**
 * Idempotency keys expire: a retry within the TTL replays the stored response; a key older than
 * the TTL is a new request; the API deletes expired keys in the background, never one whose
 * transaction is still in flight.
 */
describe('Idempotency-Key expiry', () => {
  const api = useApiFixture('idem_expiry', { rawMax: 3, poolMax: 8, app: { idempotency: { keyTtlHours } } })

  const body = { title: 'Kept', author: 'A', price: 3, stock: 1 }
  const postBook = (key: string, payload: object = body) =>
    api.app.inject({ method: 'POST', url: '/books', payload, headers: { 'idempotency-key': key } })
  /** Moves the key's first use `hours` into the past, as if the retry came that much later. */
  const age = (key: string, hours: number) =>
    api.raw`update idempotency_keys set created_at = created_at - make_interval(secs => ${hours * 3600})
        where key = ${key}`
  const keyExists = async (key: string) =>
    (await api.raw`select 1 from idempotency_keys where key = ${key}`).length === 1

  it('replays a retry that comes within the TTL', async () => {
    const key = crypto.randomUUID()
    const first = await postBook(key)
    await age(key, keyTtlHours - 1 / 60)
    await api.events.take()
    const retry = await postBook(key)
    expect(retry.headers['idempotent-replayed']).toBe('true')
    expect(retry.json()).toEqual(first.json())
    expect(await api.events.take()).toEqual([])
  })

  it('treats a key older than the TTL as new: the request runs again, and its retry replays it', async () => {
    const key = crypto.randomUUID()
    const first = await postBook(key)
    await age(key, keyTtlHours + 1 / 60)
    await api.events.take()
    const again = await postBook(key)
    expect(again.statusCode).toBe(201)
    expect(again.headers['idempotent-replayed']).toBeUndefined()
    expect(again.json().id).not.toBe(first.json().id)
    expect(await api.events.take()).toEqual([writtenEvent('BookAdded', again.json().id)])
    const retry = await postBook(key)
    expect(retry.headers['idempotent-replayed']).toBe('true')
    expect(retry.json()).toEqual(again.json())
  })

  it('accepts an expired key with another body as a new request, not IDEMPOTENCY_KEY_REUSED', async () => {
    const key = crypto.randomUUID()
    await postBook(key)
    await age(key, keyTtlHours + 1)
    const other = await postBook(key, { ...body, title: 'Other' })
    expect(other.statusCode).toBe(201)
    expect(other.json().title).toBe('Other')
  })

  it('runs an expired key once for concurrent retries: one row, one event, one response', async () => {
    const key = crypto.randomUUID()
    await postBook(key)
    await age(key, keyTtlHours + 1)
    await api.events.take()
    const responses = await Promise.all([1, 2, 3, 4, 5].map(() => postBook(key)))
    expect(responses.map((r) => r.statusCode)).toEqual([201, 201, 201, 201, 201])
    expect(new Set(responses.map((r) => r.json().id)).size).toBe(1)
    expect(responses.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1)
    expect(await api.events.take()).toHaveLength(1)
  })

  it('deletes expired keys in batches and keeps the ones still within the TTL', async () => {
    const prefix = crypto.randomUUID()
    await api.raw`
      insert into idempotency_keys (scope, key, request_hash, status_code, response_body, created_at)
      select 'POST /books', ${prefix} || '-' || i, 'h', 201, '{}', now() - interval '25 hours'
      from generate_series(1, 1200) as i`
    const fresh = crypto.randomUUID()
    await postBook(fresh)
    await age(fresh, keyTtlHours - 1)
    const deleted = await expireIdempotencyKeys(api.database.db, { keyTtlHours, batchSize: 500 })
    expect(deleted).toBeGreaterThanOrEqual(1200)
    const [left] = await api.raw<{ n: number }[]>`
      select count(*)::int as n from idempotency_keys where key like ${`${prefix}-%`}`
    expect(left?.n).toBe(0)
    expect(await keyExists(fresh)).toBe(true)
  })

  it('never deletes a key whose transaction is in flight, and the retry after it replays', async () => {
    const key = crypto.randomUUID()
    await postBook(key)
    await age(key, keyTtlHours + 1)
    // Hold the request after it has claimed the expired key: inserts into books wait on this lock.
    const blocker = await api.raw.reserve()
    let inFlight: ReturnType<typeof postBook> | undefined
    try {
      await blocker`begin`
      await blocker`lock table books in share mode`
      inFlight = postBook(key)
      await expect
        .poll(
          async () =>
            (
              await api.raw`select 1 from pg_stat_activity
                        where datname = ${api.db.name} and wait_event_type = 'Lock'
                          and query ilike 'insert into "books"%'`
            ).length,
        )
        .toBe(1)
      expect(await expireIdempotencyKeys(api.database.db, { keyTtlHours, batchSize: 500 })).toBe(0)
    } finally {
      await blocker`commit`
      blocker.release()
    }
    const response = await inFlight
    expect(response.statusCode).toBe(201)
    expect(await keyExists(key)).toBe(true)
    expect((await postBook(key)).json()).toEqual(response.json())
  })

  it('expires keys in the background when given an interval', async () => {
    const background = await buildApp({
      db: api.database.db,
      logger: false,
      idempotency: { keyTtlHours, cleanupIntervalMs: 50 },
    })
    try {
      await background.ready()
      const key = crypto.randomUUID()
      await postBook(key)
      await age(key, keyTtlHours + 1)
      await expect.poll(() => keyExists(key), { timeout: 5_000 }).toBe(false)
    } finally {
      await background.close()
    }
  })
})
