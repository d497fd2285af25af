import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiError } from './errors.ts'

export interface OverloadOptions {
  /**
   * Requests worked on at once; one more is answered 503 at once, before its body is read, so a
   * burst never queues without bound in front of the pool. 0: no limit.
   */
  maxInFlight: number
  /** Mean event-loop delay (ms, sampled each second) above which requests are answered 503; 0: not watched. */
  maxEventLoopDelayMs: number
  /**
   * A `select 1` through the pool, every half second: slower than this (the wait for a connection
   * included, so a full pool shows here too) or failing, and requests are answered 503 until one
   * is fast again. 0: not watched.
   */
  maxDatabaseLatencyMs: number
  /** What Retry-After tells a client to wait, in seconds. */
  retryAfterS: number
  /** The probe: one round trip through the pool the routes use. */
  probe: () => Promise<unknown>
  /** Told each request shed, with the signal that shed it. */
  onShed?: (signal: ShedSignal) => void
  /** Told the requests in flight each time the count changes. */
  onInFlight?: (count: number) => void
}

export type ShedSignal = 'in-flight' | 'event-loop-delay' | 'database'

/**
 * What the probe last found, for /health to answer from without a query of its own (a flood of
 * health checks must not fill the pool); undefined when the database's latency is not watched.
 */
export type DatabaseState = () => { answering: boolean; fast: boolean; why: string } | undefined

/** Routes a load balancer or a scraper calls: never shed, so they can see the API is loaded. */
const exempt = new Set(['/health', '/metrics'])

/**
 * Sheds load instead of queueing it: while a load signal is over its limit, a request is answered
 * 503 with `Retry-After` and `{ error: 'OVERLOADED' }` before any handler runs, so it writes
 * nothing. The signals: requests in flight, event-loop delay (@fastify/under-pressure), and the
 * database's latency through the pool. Each clears by itself as the load drops.
 */
export async function shedOverload(app: FastifyInstance, o: OverloadOptions): Promise<DatabaseState> {
  let inFlight = 0
  let lastProbe: { ms: number; error?: string } = { ms: 0 }
  // One probe at a time: a stuck pool must not collect a probe every half second. One lost on a
  // dead socket (postgres.js has no query timeout; the kernel takes minutes) is given up after
  // `abandonAfterMs`, so the next can tell when the database answers again; at most three are.
  const abandonAfterMs = Math.max(2000, 5 * o.maxDatabaseLatencyMs)
  let abandoned = 0
  let pending: { started: number; done: Promise<void> } | undefined
  const probe = () => {
    if (pending && (performance.now() - pending.started < abandonAfterMs || abandoned >= 3)) return pending
    if (pending) {
      abandoned += 1
      const lost = pending
      void lost.done.finally(() => {
        abandoned -= 1
      })
    }
    const started = performance.now()
    const done = o
      .probe()
      .then(
        () => {
          lastProbe = { ms: performance.now() - started }
        },
        (error: unknown) => {
          lastProbe = { ms: performance.now() - started, error: (error as Error).message }
        },
      )
      .finally(() => {
        if (pending?.started === started) pending = undefined
      })
    pending = { started, done }
    return pending
  }
  /**
   * Fast: the last probe answered within the limit, and none has been waiting longer (requests
   * are shed otherwise). Answering: the last probe did not fail, and none has been waiting past
   * `abandonAfterMs` (a slow database is loaded, not down: /health still says ok).
   */
  const database: DatabaseState = () => {
    const waiting = pending ? performance.now() - pending.started : 0
    if (lastProbe.error)
      return { answering: false, fast: false, why: `the database does not answer: ${lastProbe.error}` }
    const answering = waiting < abandonAfterMs
    if (waiting > o.maxDatabaseLatencyMs || lastProbe.ms > o.maxDatabaseLatencyMs)
      return {
        answering,
        fast: false,
        why: `the database took ${Math.round(Math.max(waiting, lastProbe.ms))} ms or more to answer, the most is ${o.maxDatabaseLatencyMs} ms`,
      }
    return { answering, fast: true, why: '' }
  }
  // Thrown from a hook, it reaches the app's error handler: 503, Retry-After, { error: 'OVERLOADED' }.
  const overloaded = (signal: ShedSignal, why: string) => {
    o.onShed?.(signal)
    return new ApiError(
      'OVERLOADED',
      `Overloaded (${why}); nothing was written, retry after ${o.retryAfterS} s.`,
      {
        retryable: true,
        retryAfterS: o.retryAfterS,
      },
    )
  }
  const isExempt = (request: FastifyRequest) => exempt.has(request.routeOptions.url ?? '')

  // A request is checked on arrival, before its body is read; counted once its body has come
  // (preHandler: a client that never sends it holds no slot); and released when the app answers
  // (onSend runs after the handler even for a client gone meanwhile, and for pipelined requests
  // whose response never gets the socket): the slot is held as long as the work runs, no longer.
  const leaves = new WeakMap<FastifyRequest, () => void>()
  const full = () => overloaded('in-flight', `${inFlight} requests in flight, the most is ${o.maxInFlight}`)
  const counts = (request: FastifyRequest) => !isExempt(request) && o.maxInFlight > 0
  // Registered before under-pressure's: a request it sheds was never counted.
  app.addHook('onRequest', async (request) => {
    if (counts(request) && inFlight >= o.maxInFlight) throw full()
  })
  app.addHook('preHandler', async (request, reply) => {
    if (!counts(request)) return
    if (inFlight >= o.maxInFlight) throw full()
    inFlight += 1
    o.onInFlight?.(inFlight)
    let done = false
    const leave = () => {
      if (done) return
      done = true
      inFlight -= 1
      o.onInFlight?.(inFlight)
    }
    leaves.set(request, leave)
    reply.raw.once('finish', leave)
  })
  app.addHook('onSend', async (request) => {
    leaves.get(request)?.()
  })
  if (o.maxEventLoopDelayMs === 0 && o.maxDatabaseLatencyMs === 0) return () => undefined
  await app.register(underPressure, {
    maxEventLoopDelay: o.maxEventLoopDelayMs,
    healthCheckInterval: 500,
    // Waits no longer than the limit: a probe stuck behind a full pool is the signal itself.
    healthCheck: async () => {
      if (o.maxDatabaseLatencyMs === 0) return true
      const running = probe()
      const left = o.maxDatabaseLatencyMs - (performance.now() - running.started)
      let timer: NodeJS.Timeout | undefined
      const answered = await Promise.race([
        running.done.then(() => true),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), Math.max(0, left))
        }),
      ])
      clearTimeout(timer)
      if (!answered) {
        lastProbe = { ms: performance.now() - running.started }
        return false
      }
      return lastProbe.error === undefined && lastProbe.ms <= o.maxDatabaseLatencyMs
    },
    // A rejection is passed on as the request's error (under-pressure calls next(error)).
    pressureHandler: async (request, _reply, type, value) => {
      if (isExempt(request)) return
      if (type === underPressure.TYPE_EVENT_LOOP_DELAY)
        throw overloaded(
          'event-loop-delay',
          `event-loop delay ${Math.round(Number(value))} ms, the most is ${o.maxEventLoopDelayMs} ms`,
        )
      throw overloaded('database', database()?.why || 'the database answered too slowly')
    },
  })
  return o.maxDatabaseLatencyMs === 0 ? () => undefined : database
}
