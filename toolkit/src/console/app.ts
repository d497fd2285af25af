import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyBaseLogger } from 'fastify'
import Fastify, { LogController } from 'fastify'
import type { Kafka } from 'kafkajs'
import { z } from 'zod'
import type { ConnectClient, ConnectorState } from '../connector/connect-client.ts'
import type { ParkedKey } from '../consumer/parked-letters.ts'
import { type DeadLetter, redriveDeadLetters } from '../tools/dlq.ts'
import { createDeadLetterView, newestPerPartition } from './dead-letter-view.ts'
import { toHistory } from './history.ts'
import { consoleMemory } from './memory.ts'
import type { RecentEvents } from './recent-events.ts'
import type { Sampler } from './sampler.ts'
import { registerSecurity } from './security.ts'

export interface ConsoleDeps {
  sampler: Sampler
  events: RecentEvents
  connect: ConnectClient
  kafka: Kafka
  connectorName: string
  namespace: string
  deadLetterTopic: string
  /** The group whose committed offsets say which dead letters were already redriven (as dlq:redrive). */
  redriveGroup: string
  /** The keys held back behind a dead letter (listParkedKeys); the page shows none when not given. */
  parkedKeys?: () => Promise<ParkedKey[]>
  token: string
  /** Host headers the console answers to, `host:port` (read per request: the port is known after listen). */
  allowedHosts: () => readonly string[]
  logger: FastifyBaseLogger | false
  /** Told each action carried out (a line to print), with or without a request log. */
  onAction?: (line: string) => void
  /** How long a read of Kafka or Connect for a request may take. */
  timeoutMs?: number
}

/** What the page is shown of a redrive's letters; the count is always complete. */
const shownLetters = 200

/** The state an action leads to, which the answer waits for (briefly) before it is given. */
const settlesTo: Record<'pause' | 'resume' | 'restart', ConnectorState> = {
  pause: 'PAUSED',
  resume: 'RUNNING',
  restart: 'RUNNING',
}

/**
 * Errors with the status they mean here. Connect not answering an action leaves its outcome
 * unknown (it may have been carried out): 502, never "refused".
 */
function statusOf(error: Error & { statusCode?: number; code?: string; status?: number }): number {
  if (error.code === 'REDRIVE_BUSY') return 409
  if (error.code === 'CONNECT_REQUEST_FAILED') return error.status && error.status < 500 ? 409 : 502
  if (error.code === 'NOT_RUNNING_IN_TIME') return 504
  return error.statusCode && error.statusCode >= 400 ? error.statusCode : 500
}

// Resolved when a console is built, not when the package is imported: a service bundled without
// the console's files must still load the rest of the package.
const uplotDir = () => dirname(createRequire(import.meta.url).resolve('uplot'))

const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  type: z.string().max(200).optional(),
  key: z.string().max(500).optional(),
})
const connectorAction = z.object({ action: z.enum(['pause', 'resume', 'restart']) })
const redriveBody = z
  .object({ dryRun: z.boolean(), confirm: z.literal(true).optional() })
  .strict()
  .refine(
    (b) => b.dryRun || b.confirm,
    'a redrive that sends needs "confirm": true (preview it with dryRun first)',
  )

const badInput = (error: z.ZodError) => ({
  code: 'BAD_REQUEST',
  message: error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
})

/**
 * The console: the page and its JSON. It reads what the pipeline already reports (the sampler's
 * doctor checks and /metrics, Connect, the dead-letter topic, the tail) and keeps no state of its
 * own but a window of samples and recent events. Reads are open; actions are guarded.
 */
export async function buildConsoleApp(d: ConsoleDeps) {
  // The page polls every second or two: its requests are not logged, the actions are (below).
  // (Through a LogController: fastify 5 deprecates the top-level disableRequestLogging, FSTDEP023,
  // and a deprecation warning on every start reads as an error.)
  const app = Fastify(
    d.logger
      ? { loggerInstance: d.logger, logController: new LogController({ disableRequestLogging: true }) }
      : { logger: false },
  )
  app.setErrorHandler(
    (error: Error & { statusCode?: number; code?: string; status?: number }, _request, reply) => {
      const status = statusOf(error)
      if (status >= 500) app.log.error({ err: error }, 'console request failed')
      const unknown =
        status === 502 || status === 504 ? ' (the outcome is unknown: see the connector stage)' : ''
      return reply
        .code(status)
        .send({ code: error.code ?? 'INTERNAL', message: `${error.message}${unknown}` })
    },
  )
  const deadLetters = createDeadLetterView(d.kafka, d.deadLetterTopic, {
    ttlMs: consoleMemory.deadLetterListMs,
    timeoutMs: (d.timeoutMs ?? 4000) * 3,
  })
  const { guardAction } = await registerSecurity(app, { allowedHosts: d.allowedHosts, token: d.token })
  await app.register(fastifyStatic, { root: join(import.meta.dirname, 'public') })
  await app.register(fastifyStatic, { root: uplotDir(), prefix: '/vendor/', decorateReply: false })

  app.get('/api/overview', async () => {
    const latest = d.sampler.latest()
    return {
      at: latest ? new Date(latest.t).toISOString() : null,
      stages: latest?.stages ?? [],
      deadLetters: latest?.deadLetters ?? null,
      connectorName: d.connectorName,
      namespace: d.namespace,
    }
  })
  app.get('/api/history', async () => toHistory(d.sampler.samples()))
  app.get('/api/events', async (request, reply) => {
    const query = eventsQuery.safeParse(request.query)
    if (!query.success) return reply.code(400).send(badInput(query.error))
    return d.events.after(query.data.after, query.data)
  })
  app.get('/api/dead-letters', async (request) => {
    const [letters, parked] = await Promise.all([
      deadLetters.letters(),
      // The letters still show when the database does not answer: parked is null then.
      d.parkedKeys?.().catch((error: unknown) => {
        request.log.warn({ err: error }, 'could not read the parked keys')
        return null
      }) ?? null,
    ])
    return { topic: d.deadLetterTopic, newestPerPartition, letters, parked }
  })

  app.post('/api/connector/:action', { onRequest: guardAction }, async (request, reply) => {
    const params = connectorAction.safeParse(request.params)
    if (!params.success) return reply.code(400).send(badInput(params.error))
    const { action } = params.data
    await d.connect[action](d.connectorName)
    request.log.info({ action, connector: d.connectorName }, 'connector action from the console')
    d.onAction?.(`connector ${d.connectorName}: ${action} (from the console)`)
    // Connect carries an action out in the background: answer with the state it leads to, or with
    // where it stands after a few seconds (settled: false), never with the state from before.
    const settled = await d.connect
      .waitForState(d.connectorName, settlesTo[action], d.timeoutMs ?? 4000)
      .then(() => true)
      .catch(() => false)
    await d.sampler.refresh({ fresh: true })
    return {
      action,
      connector: d.connectorName,
      settled,
      status: (await d.connect.status(d.connectorName)) ?? null,
    }
  })

  // One redrive at a time: two would read the same letters from the same committed position.
  let redriving = false
  app.post('/api/dead-letters/redrive', { onRequest: guardAction }, async (request, reply) => {
    const body = redriveBody.safeParse(request.body)
    if (!body.success) return reply.code(400).send(badInput(body.error))
    if (redriving)
      return reply.code(409).send({ code: 'REDRIVE_BUSY', message: 'a redrive is running from this console' })
    redriving = true
    try {
      const letters: DeadLetter[] = []
      const sent = await redriveDeadLetters(d.kafka, d.deadLetterTopic, d.redriveGroup, {
        dryRun: body.data.dryRun,
        onLetter: (letter) => {
          letters.push(letter)
        },
      })
      request.log.info({ dryRun: body.data.dryRun, count: sent }, 'dead-letter redrive from the console')
      if (!body.data.dryRun)
        d.onAction?.(`${sent} dead letter(s) of ${d.deadLetterTopic} sent back (from the console)`)
      if (!body.data.dryRun) {
        deadLetters.forget()
        await d.sampler.refresh({ fresh: true })
      }
      return { dryRun: body.data.dryRun, count: sent, letters: letters.slice(0, shownLetters) }
    } finally {
      redriving = false
    }
  })
  return app
}
