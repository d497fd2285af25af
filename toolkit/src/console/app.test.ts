import type { FastifyBaseLogger } from 'fastify'
import type { Kafka } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { type ConnectClient, ConnectError } from '../connector/connect-client.ts'
import { buildConsoleApp } from './app.ts'
import { createRecentEvents } from './recent-events.ts'
import type { Sampler } from './sampler.ts'

const token = 'a'.repeat(48)
const host = '127.0.0.1:3002'
/** What the page sends with every call. */
const page = { host, 'x-console': '1' }

/** The app around a Connect client that records calls; the sampler and Kafka are never reached. */
async function consoleApp(
  kafka = {} as Kafka,
  logger: FastifyBaseLogger | false = false,
  more: Partial<Parameters<typeof buildConsoleApp>[0]> = {},
) {
  const calls: string[] = []
  const said: string[] = []
  const connect = {
    pause: async (name: string) => void calls.push(`pause ${name}`),
    resume: async (name: string) => void calls.push(`resume ${name}`),
    restart: async (name: string) => void calls.push(`restart ${name}`),
    status: async () => undefined,
    waitForState: async () => undefined,
  } as unknown as ConnectClient
  const sampler = {
    refresh: async () => ({}),
    latest: () => undefined,
    samples: () => [],
  } as unknown as Sampler
  const events = createRecentEvents(3)
  const app = await buildConsoleApp({
    sampler,
    events,
    connect,
    kafka,
    connectorName: 'c1',
    namespace: 'ns',
    deadLetterTopic: 'ns-dlq',
    redriveGroup: 'g-dlq-redrive',
    token,
    allowedHosts: () => [host],
    logger,
    onAction: (line) => said.push(line),
    ...more,
  })
  return { app, calls, said, events, connect }
}

let app: Awaited<ReturnType<typeof consoleApp>>['app'] | undefined
afterEach(async () => {
  await app?.close()
})

/** A CSRF token and its cookie, as the page gets them. */
async function csrf(a: NonNullable<typeof app>) {
  const response = await a.inject({ method: 'GET', url: '/api/csrf', headers: page })
  const cookie = response.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
  return { cookie, csrfToken: response.json().csrfToken as string }
}

/** A logger that keeps each line's message, as the console's pino logger would write it. */
function recordingLogger(lines: string[]): FastifyBaseLogger {
  const write =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push(`${level} ${args.filter((a) => typeof a === 'string').join(' ')}`)
  const logger = {
    level: 'info',
    fatal: write('fatal'),
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    trace: write('trace'),
    silent: () => undefined,
    child: () => logger,
  }
  return logger as unknown as FastifyBaseLogger
}

describe('console logging', () => {
  it('starts with its logger without a deprecation warning, and logs no page poll', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => void warnings.push(warning)
    process.on('warning', onWarning)
    try {
      const lines: string[] = []
      const built = await consoleApp({} as Kafka, recordingLogger(lines))
      app = built.app
      await app.ready()
      expect((await app.inject({ method: 'GET', url: '/api/csrf', headers: page })).statusCode).toBe(200)
      // process.emitWarning reports on the next tick.
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.map((w) => `${w.name}: ${w.message}`)).toEqual([])
      expect(lines.filter((line) => /request/.test(line))).toEqual([])
    } finally {
      process.off('warning', onWarning)
    }
  })
})

describe('console guards', () => {
  it('refuses an action without the token, with the wrong token, and without the CSRF token', async () => {
    const built = await consoleApp()
    app = built.app
    const { cookie, csrfToken } = await csrf(app)
    const post = (headers: Record<string, string>) =>
      built.app.inject({
        method: 'POST',
        url: '/api/connector/pause',
        headers: { ...page, ...headers },
        payload: {},
      })

    const none = await post({ cookie, 'x-csrf-token': csrfToken })
    expect(none.statusCode).toBe(401)
    expect(none.json().code).toBe('TOKEN_REQUIRED')
    expect(
      (await post({ cookie, 'x-csrf-token': csrfToken, authorization: `Bearer ${'b'.repeat(48)}` }))
        .statusCode,
    ).toBe(403)
    expect((await post({ authorization: `Bearer ${token}` })).statusCode).toBe(403)
    expect(
      (await post({ cookie, 'x-csrf-token': 'forged', authorization: `Bearer ${token}` })).statusCode,
    ).toBe(403)
    expect(built.calls).toEqual([])

    const ok = await post({ cookie, 'x-csrf-token': csrfToken, authorization: `Bearer ${token}` })
    expect(ok.statusCode).toBe(200)
    expect(built.calls).toEqual(['pause c1'])
    // Every action done is told, with no request log needed: who paused the pipeline must show somewhere.
    expect(built.said).toEqual(['connector c1: pause (from the console)'])
  })

  it('answers only to its own host and port, so a rebinding DNS name cannot read it', async () => {
    app = (await consoleApp()).app
    const response = await app.inject({
      method: 'GET',
      url: '/api/overview',
      headers: { host: 'evil.example:3002' },
    })
    expect(response.statusCode).toBe(421)
    expect((await app.inject({ method: 'GET', url: '/api/overview', headers: page })).statusCode).toBe(200)
  })

  it('refuses an unknown action and a redrive that sends without confirm, calling nothing', async () => {
    const built = await consoleApp()
    app = built.app
    const { cookie, csrfToken } = await csrf(app)
    const headers = { ...page, cookie, 'x-csrf-token': csrfToken, authorization: `Bearer ${token}` }
    const unknown = await app.inject({ method: 'POST', url: '/api/connector/delete', headers, payload: {} })
    expect(unknown.statusCode).toBe(400)
    const unconfirmed = await app.inject({
      method: 'POST',
      url: '/api/dead-letters/redrive',
      headers,
      payload: { dryRun: false },
    })
    expect(unconfirmed.statusCode).toBe(400)
    expect(unconfirmed.json().message).toMatch(/confirm/)
    expect(built.calls).toEqual([])
  })

  it('refuses a second redrive while one runs with REDRIVE_BUSY, the code the command gives', async () => {
    let release: (error: Error) => void = () => {}
    const hanging = new Promise<never>((_resolve, reject) => {
      release = reject
    })
    // Kafka that does not answer: the first redrive waits on it.
    let asked = false
    const kafka = {
      admin: () => ({
        connect: () => {
          asked = true
          return hanging
        },
        disconnect: async () => {},
      }),
    } as unknown as Kafka
    const built = await consoleApp(kafka)
    app = built.app
    const { cookie, csrfToken } = await csrf(app)
    const headers = { ...page, cookie, 'x-csrf-token': csrfToken, authorization: `Bearer ${token}` }
    const send = () =>
      app?.inject({ method: 'POST', url: '/api/dead-letters/redrive', headers, payload: { dryRun: true } })
    const first = send()
    await vi.waitFor(() => expect(asked).toBe(true))
    const second = await send()
    expect(second?.statusCode).toBe(409)
    expect(second?.json().code).toBe('REDRIVE_BUSY')
    release(new Error('kafka gone'))
    expect((await first)?.statusCode).toBe(500)
  })

  it('lists the keys parked behind a dead letter beside the letters, and still the letters when the database does not answer', async () => {
    // A broker without the dead-letter topic: no letters, read without a consumer.
    const kafka = {
      admin: () => ({ connect: async () => {}, disconnect: async () => {}, listTopics: async () => [] }),
    } as unknown as Kafka
    const key = {
      group: 'g',
      topic: 'ns.invoice',
      key: 'inv-1',
      head: 'e1',
      waiting: 2,
      since: '2026-12-07T00:00:00.000Z',
    }
    app = (await consoleApp(kafka, false, { parkedKeys: async () => [key] })).app
    const shown = await app.inject({ method: 'GET', url: '/api/dead-letters', headers: page })
    expect(shown.json()).toMatchObject({ letters: [], parked: [key] })
    await app.close()

    app = (
      await consoleApp(kafka, false, {
        parkedKeys: async () => {
          throw new Error('database down')
        },
      })
    ).app
    const unknown = await app.inject({ method: 'GET', url: '/api/dead-letters', headers: page })
    expect(unknown.statusCode).toBe(200)
    expect(unknown.json()).toMatchObject({ letters: [], parked: null })
  })

  it('answers no API call without its own header, which no other site can make a browser send', async () => {
    app = (await consoleApp()).app
    for (const url of ['/api/overview', '/api/dead-letters', '/api/events']) {
      const bare = await app.inject({ method: 'GET', url, headers: { host } })
      expect(bare.statusCode, url).toBe(403)
      expect(bare.json().code).toBe('CONSOLE_HEADER_REQUIRED')
    }
    // The page itself (HTML, script) stays a plain GET.
    expect((await app.inject({ method: 'GET', url: '/', headers: { host } })).statusCode).toBe(200)
  })

  it('answers no API call without its header however the path is spelled (percent-encoded, doubled slashes, a dot segment)', async () => {
    app = (await consoleApp()).app
    const spellings = [
      '/%61pi/dead-letters',
      '/%61%70%69/overview',
      '/api%2Fevents',
      '/API/dead-letters',
      '//api/dead-letters',
      '/./api/dead-letters',
      '/x/../api/dead-letters',
      '/api/dead-letters/',
      '/api/dead-letters?x=1',
      '/%2561pi/dead-letters',
    ]
    for (const url of spellings) {
      const bare = await app.inject({ method: 'GET', url, headers: { host } })
      // Whatever the router makes of the path, no API handler runs without the header: refused
      // (403) or no such route (404), never an answer or a handler's own failure.
      expect([403, 404], `${url} answered ${bare.statusCode}: ${bare.body}`).toContain(bare.statusCode)
    }
  })

  it('says an action whose answer never came has an unknown outcome, not that it was refused', async () => {
    const built = await consoleApp()
    app = built.app
    built.connect.pause = async () => {
      throw new ConnectError('Kafka Connect at http://127.0.0.1:9 is not reachable', undefined, true)
    }
    const { cookie, csrfToken } = await csrf(app)
    const response = await app.inject({
      method: 'POST',
      url: '/api/connector/pause',
      headers: { ...page, cookie, 'x-csrf-token': csrfToken, authorization: `Bearer ${token}` },
      payload: {},
    })
    expect(response.statusCode).toBe(502)
    expect(response.json().message).toMatch(/outcome is unknown/)
  })

  it('never sends the token to the page', async () => {
    app = (await consoleApp()).app
    for (const url of ['/', '/app.js', '/api/overview', '/api/history', '/api/events', '/api/csrf']) {
      const response = await app.inject({ method: 'GET', url, headers: page })
      expect(response.statusCode, url).toBe(200)
      expect(response.body).not.toContain(token)
      expect(JSON.stringify(response.headers)).not.toContain(token)
    }
  })

  it('hands the page each event once, in order, filtered by exact type and key', async () => {
    const built = await consoleApp()
    app = built.app
    const event = (key: string, eventType: string) => ({
      at: new Date(0).toISOString(),
      topic: 'ns.order',
      partition: 0,
      offset: '0',
      key,
      eventType,
      eventId: null,
      payload: {},
    })
    built.events.push(event('k1', 'OrderPlaced'))
    built.events.push(event('k2', 'BookAdded'))
    const get = async (query: string) =>
      (await built.app.inject({ method: 'GET', url: `/api/events?${query}`, headers: page })).json()
    expect((await get('after=0')).events.map((e: { key: string }) => e.key)).toEqual(['k1', 'k2'])
    expect((await get('after=1')).events.map((e: { key: string }) => e.key)).toEqual(['k2'])
    expect((await get('type=OrderPlaced')).events.map((e: { key: string }) => e.key)).toEqual(['k1'])
    expect((await get('key=k2&type=OrderPlaced')).events).toEqual([])
  })
})
