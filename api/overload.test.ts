import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiError } from './errors.ts'
import { shedOverload } from './overload.ts'

let app: FastifyInstance | undefined
afterEach(async () => {
  await app?.close()
})

/** An app with the shedding and three routes; the probe is whatever the test makes the database do. */
async function withShedding(probe: () => Promise<unknown>) {
  const built = Fastify()
  app = built
  await shedOverload(built, {
    maxInFlight: 0,
    maxEventLoopDelayMs: 0,
    maxDatabaseLatencyMs: 20,
    retryAfterS: 2,
    probe,
  })
  built.setErrorHandler((error, _request, reply) => {
    if (error instanceof ApiError && error.retryAfterS !== undefined)
      return reply.code(error.status).header('retry-after', String(error.retryAfterS)).send(error.toBody())
    return reply.code(500).send()
  })
  for (const url of ['/health', '/metrics', '/books']) built.get(url, async () => ({ url }))
  await built.ready()
  return built
}

describe('shedding on the database probe', () => {
  it('never sheds /health or /metrics, even while every other route is shed', async () => {
    // A probe that never answers: the pool is stuck.
    const a = await withShedding(() => new Promise(() => {}))
    await expect.poll(async () => (await a.inject({ url: '/books' })).statusCode, { timeout: 5000 }).toBe(503)
    const shed = await a.inject({ url: '/books' })
    expect(shed.headers['retry-after']).toBe('2')
    expect(shed.json()).toMatchObject({ error: 'OVERLOADED' })
    expect((await a.inject({ url: '/health' })).statusCode).toBe(200)
    expect((await a.inject({ url: '/metrics' })).statusCode).toBe(200)
  })

  it('says the database does not answer when the probe fails, and recovers when it answers again', async () => {
    let down = true
    const a = await withShedding(async () => {
      if (down) throw new Error('connect ECONNREFUSED')
    })
    await expect.poll(async () => (await a.inject({ url: '/books' })).statusCode, { timeout: 5000 }).toBe(503)
    expect((await a.inject({ url: '/books' })).json().message).toMatch(
      /the database does not answer: connect ECONNREFUSED/,
    )
    down = false
    await expect.poll(async () => (await a.inject({ url: '/books' })).statusCode, { timeout: 5000 }).toBe(200)
  })
})
