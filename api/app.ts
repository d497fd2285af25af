import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { sql } from 'drizzle-orm'
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyReply } from 'fastify'
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod'
import type { Db } from '../db/client.ts'
import { ApiError, validationFailed } from './errors.ts'
import { type IdempotencyKeyExpiry, startIdempotencyKeyExpiry } from './idempotency-key-expiry.ts'
import { type ApiMetrics, createApiMetrics } from './metrics.ts'
import { type OverloadOptions, shedOverload } from './overload.ts'
import { bookRoutes } from './routes/books.ts'
import { orderRoutes } from './routes/orders.ts'
import { defaultIdempotencyKeyTtlHours } from './use-cases/idempotent.ts'

export interface AppOptions {
  db: Db
  /** Prometheus metrics served at /metrics; a fresh registry when not given. */
  metrics?: ApiMetrics
  logger: FastifyBaseLogger | false
  /** Largest accepted request body; larger ones get 413 before any parsing. */
  bodyLimitBytes?: number
  /** Sheds load (503 with Retry-After) instead of queueing it; nothing is shed when not given. */
  overload?: Omit<OverloadOptions, 'probe' | 'onShed' | 'onInFlight'>
  idempotency?: {
    /** How long an Idempotency-Key replays its response (default 24); older keys are new requests. */
    keyTtlHours?: number
    /** Deletes expired keys this often while the app runs; no background cleanup when not given. */
    cleanupIntervalMs?: number
  }
}

/** Builds the HTTP API without listening, so tests drive it with `app.inject()`. */
export async function buildApp(options: AppOptions) {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimitBytes ?? 16 * 1024,
    // A URL Fastify cannot decode (`/books/%E0%A4%A`) is answered before any route or error
    // handler runs; without this its body is Fastify's own shape, not {error: CODE, message}.
    frameworkErrors: (error, _request, reply) =>
      (reply as FastifyReply)
        .code(error.statusCode ?? 400)
        .send({ error: error.code, message: error.message }),
  }).withTypeProvider<ZodTypeProvider>()
  const metrics = options.metrics ?? createApiMetrics()
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern (/books/:id), not the URL, so ids do not explode the label set.
    const route = request.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) })
    metrics.duration.observe({ method: request.method, route }, reply.elapsedTime / 1000)
  })
  const database = options.overload
    ? await shedOverload(app, {
        ...options.overload,
        probe: () => options.db.execute(sql`select 1`),
        onShed: (signal) => metrics.shed.inc({ signal }),
        onInFlight: (count) => metrics.inFlight.set(count),
      })
    : undefined
  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)

  // Before any plugin's routes (swagger's too): each route keeps the handler set when it is added.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const apiError = hasZodFastifySchemaValidationErrors(error)
      ? validationFailed(
          error.validation.map((issue) => ({
            field: fieldOf(error.validationContext ?? 'request', issue.instancePath, issue.params),
            message: issue.message ?? 'is invalid',
          })),
        )
      : error
    if (apiError instanceof ApiError) {
      if (apiError.retryAfterS !== undefined) reply.header('retry-after', String(apiError.retryAfterS))
      return reply.code(apiError.status).send(apiError.toBody())
    }
    // Fastify's own client errors: malformed JSON (400), body too large (413), media type (415).
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ error: error.code ?? 'BAD_REQUEST', message: error.message })
    }
    request.log.error({ err: error }, 'request failed')
    return reply.code(500).send({ error: 'INTERNAL', message: 'Internal error; it has been logged.' })
  })
  await app.register(swagger, {
    openapi: { info: { title: 'outbox-cdc bookshop API', version: '0.1.0' } },
    transform: jsonSchemaTransform,
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })

  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError('NOT_FOUND', `No route ${request.method} ${request.url}.`)
    return reply.code(error.status).send(error.toBody())
  })

  // Scraped every few seconds (the console, Prometheus): their request lines would drown the log.
  app.get('/health', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) => {
    // Shedding watches the database already: its last probe answers, so a flood of health checks
    // never fills the pool.
    const watched = database?.()
    if (watched)
      return watched.answering
        ? { status: 'ok' }
        : reply.code(503).send({ status: 'unavailable', reason: 'database' })
    try {
      await options.db.execute(sql`select 1`)
      return { status: 'ok' }
    } catch {
      return reply.code(503).send({ status: 'unavailable', reason: 'database' })
    }
  })
  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  )
  const idempotencyKeyTtlHours = options.idempotency?.keyTtlHours ?? defaultIdempotencyKeyTtlHours
  await app.register(bookRoutes, { db: options.db, metrics, idempotencyKeyTtlHours })
  await app.register(orderRoutes, { db: options.db, metrics, idempotencyKeyTtlHours })

  const cleanupIntervalMs = options.idempotency?.cleanupIntervalMs
  if (cleanupIntervalMs !== undefined) {
    let expiry: IdempotencyKeyExpiry | undefined
    app.addHook('onReady', async () => {
      expiry = startIdempotencyKeyExpiry({
        db: options.db,
        keyTtlHours: idempotencyKeyTtlHours,
        intervalMs: cleanupIntervalMs,
        log: app.log,
        onExpired: (count) => metrics.idempotencyKeysExpired.inc(count),
      })
    })
    // Stopped (and waited for) before the caller closes the pool.
    app.addHook('onClose', async () => expiry?.stop())
  }
  return app
}

/** `body/price`, `params/id`, or the unknown key itself for `unrecognized_keys`. */
function fieldOf(context: string, instancePath: string, params: unknown): string {
  const keys = (params as { keys?: string[] } | undefined)?.keys
  const path = instancePath.replace(/^\//, '')
  if (Array.isArray(keys) && keys.length > 0)
    return keys.map((key) => `${context}/${path ? `${path}/` : ''}${key}`).join(', ')
  return path ? `${context}/${path}` : context
}
