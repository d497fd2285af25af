import { type AddressInfo, connect, type Socket } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
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

/** An app on a real socket with a route that takes `slowMs`, and how many of its handlers run. */
async function listening(maxInFlight: number, slowMs: number) {
  const built = Fastify()
  app = built
  let inFlight = 0
  const handlers = { running: 0 }
  await shedOverload(built, {
    maxInFlight,
    maxEventLoopDelayMs: 0,
    maxDatabaseLatencyMs: 0,
    retryAfterS: 1,
    probe: async () => {},
    onInFlight: (n) => {
      inFlight = n
    },
  })
  built.post('/slow', async () => {
    handlers.running += 1
    await delay(slowMs)
    handlers.running -= 1
    return { ok: true }
  })
  await built.listen({ port: 0, host: '127.0.0.1' })
  const port = (built.server.address() as AddressInfo).port
  /** Sends raw bytes on a new connection; the socket and what came back so far. */
  const send = (text: string) =>
    new Promise<{ socket: Socket; answer: () => string }>((resolve) => {
      let answer = ''
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(text)
        resolve({ socket, answer: () => answer })
      })
      socket.on('data', (d) => {
        answer += d.toString()
      })
      socket.on('error', () => {})
    })
  const post = (body = '{}') =>
    `POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  return { port, send, post, handlers, inFlight: () => inFlight }
}

describe('requests in flight, over real sockets', () => {
  it('frees the slots of pipelined requests whose client left, once their handlers finish', async () => {
    const a = await listening(20, 100)
    const c = await a.send(a.post().repeat(10))
    await expect.poll(() => a.handlers.running).toBeGreaterThan(0)
    c.socket.destroy()
    await expect.poll(() => a.handlers.running + a.inFlight(), { timeout: 5000 }).toBe(0)
  })

  it('keeps a slot while its handler runs, even when the client gives up', async () => {
    const a = await listening(1, 1000)
    const first = await a.send(a.post())
    await expect.poll(() => a.handlers.running).toBe(1)
    first.socket.destroy()
    const second = await a.send(a.post())
    await expect.poll(() => second.answer(), { timeout: 5000 }).toMatch(/^HTTP\/1.1 503/)
    second.socket.destroy()
  })

  it('counts a request only once its body has come: one that never sends it holds no slot', async () => {
    const a = await listening(1, 10)
    const stalled = await a.send(
      'POST /slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    )
    const next = await a.send(a.post())
    await expect.poll(() => next.answer(), { timeout: 5000 }).toMatch(/^HTTP\/1.1 200/)
    stalled.socket.destroy()
    next.socket.destroy()
  })
})
