import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import type { Db } from '../db/client.ts'
import { buildApp } from './app.ts'

/**
 * The API's shedding with the database's answers made by the test: the probe and /health go
 * through `db.execute`, and no route here reaches further (the stack tests cover the rest).
 */
let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
})

async function apiWith(execute: () => Promise<unknown>, maxInFlight = 0) {
  let calls = 0
  const db = {
    execute: () => {
      calls += 1
      return execute()
    },
  } as unknown as Db
  const built = (await buildApp({
    db,
    logger: false,
    overload: { maxInFlight, maxEventLoopDelayMs: 0, maxDatabaseLatencyMs: 20, retryAfterS: 1 },
  })) as unknown as FastifyInstance
  app = built
  return { app: built, calls: () => calls }
}

describe('health and shedding on one probe', () => {
  it('answers a flood of health checks from the probe, without a query each', async () => {
    const api = await apiWith(async () => [])
    const before = api.calls()
    const answers = await Promise.all(Array.from({ length: 200 }, () => api.app.inject({ url: '/health' })))
    expect(answers.every((a) => a.statusCode === 200)).toBe(true)
    expect(api.calls() - before).toBeLessThan(5)
  })

  it('says the database is unavailable when the probe fails, and sheds with the API’s own answer and Retry-After on every route', async () => {
    const api = await apiWith(async () => {
      throw new Error('connect ECONNREFUSED')
    })
    await expect
      .poll(async () => (await api.app.inject({ url: '/health' })).statusCode, { timeout: 5000 })
      .toBe(503)
    // The docs' routes too (registered by plugins): the same body and header as every other.
    for (const url of ['/books', '/docs/json']) {
      const shed = await api.app.inject({ url })
      expect(shed.statusCode, url).toBe(503)
      expect(shed.headers['retry-after'], url).toBe('1')
      expect(shed.json(), url).toMatchObject({ error: 'OVERLOADED' })
    }
  })

  it('gives up a probe lost on a dead connection and takes requests again once the database answers', async () => {
    let first = true
    const api = await apiWith(() => {
      if (!first) return Promise.resolve([])
      first = false
      return new Promise(() => {})
    })
    // Startup's probe is the lost one: shed until it is given up (2 s), then a new probe answers.
    await expect
      .poll(async () => (await api.app.inject({ url: '/books' })).statusCode, { timeout: 2000 })
      .toBe(503)
    await expect
      .poll(async () => (await api.app.inject({ url: '/books?limit=1' })).statusCode, {
        timeout: 8000,
        interval: 200,
      })
      .not.toBe(503)
  })
})
