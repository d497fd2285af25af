import { CodedError, connectPostgres, createConnectClient, isRunning } from 'outbox-cdc'
import { request } from 'undici'
import { z } from 'zod'
import { connectorName, connectSecurityOfEnv, httpUrl, parseEnv, postgresUrl } from '../lib/config.ts'
import { unlessTimedOut, waitUntil } from '../lib/wait-until.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

const smokeEnv = z.object({
  DATABASE_URL: postgresUrl,
  CONNECT_URL: httpUrl,
  CONNECTOR_NAME: connectorName,
  API_PORT: z.coerce.number().int().default(3000),
  API_URL: z.url().optional(),
  SMOKE_TIMEOUT_S: z.coerce.number().int().min(1).default(30),
})

class SmokeFailure extends CodedError<'SMOKE_FAILED'> {
  constructor(message: string) {
    super('SMOKE_FAILED', message)
  }
}

/**
 * `npm run smoke`: against a running pipeline (npm start), posts a book and an order and follows
 * them until the consumer has applied both and fulfilment has answered (the order fulfilled),
 * then an order above the book's warehouse capacity until it is cancelled and its copy is back
 * in stock, printing each step, or what failed and where to look.
 */
runCli(async () => {
  const env = parseEnv(smokeEnv, withLocalStackDefaults(), 'smoke')
  const api = env.API_URL ?? `http://127.0.0.1:${env.API_PORT}`
  const ok = (line: string) => console.log(`[OK] ${line}`)
  const fail = (what: string, hint: string): never => {
    throw new SmokeFailure(`${what}\n  Where to look: ${hint}`)
  }
  const call = async (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => {
    const response = await request(`${api}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).catch((cause) =>
      fail(`the API at ${api} does not answer (${(cause as Error).message})`, 'is `npm start` running?'),
    )
    return { status: response.statusCode, json: (await response.body.json()) as Record<string, unknown> }
  }

  const health = await call('GET', '/health')
  if (health.status !== 200) fail(`GET /health answered ${health.status}`, 'the [api] lines of `npm start`')
  ok(`API healthy at ${api}`)

  const status = await createConnectClient(env.CONNECT_URL, 10_000, {
    security: connectSecurityOfEnv(withLocalStackDefaults()),
  }).status(env.CONNECTOR_NAME)
  if (!isRunning(status))
    fail(
      `connector ${env.CONNECTOR_NAME} is not RUNNING`,
      '`npm run connector:status` and .stack/connect/connect.log',
    )
  ok(`connector ${env.CONNECTOR_NAME} RUNNING`)

  const book = await call('POST', '/books', {
    title: 'Smoke test',
    author: 'outbox-cdc',
    price: 1.25,
    stock: 3,
  })
  if (book.status !== 201)
    fail(`POST /books answered ${book.status}: ${JSON.stringify(book.json)}`, 'the [api] lines')
  ok(`POST /books → 201, book ${book.json.id}`)
  const order = await call('POST', '/orders', {
    customerId: crypto.randomUUID(),
    bookId: book.json.id,
    quantity: 2,
  })
  if (order.status !== 201)
    fail(`POST /orders answered ${order.status}: ${JSON.stringify(order.json)}`, 'the [api] lines')
  ok(`POST /orders → 201, order ${order.json.id}`)

  const sql = connectPostgres(env.DATABASE_URL, { max: 1, onnotice: () => {} })
  const started = performance.now()
  /**
   * Polls `check` until it holds, then prints `what` with the time since the first write. The
   * waits share one deadline, SMOKE_TIMEOUT_S after the first write.
   */
  const waitFor = async (what: string, check: () => Promise<boolean>, hint: string) => {
    const timeoutMs = Math.max(0, started + env.SMOKE_TIMEOUT_S * 1000 - performance.now())
    await waitUntil(what, check, { timeoutMs, intervalMs: 100 }).catch((error: unknown) => {
      unlessTimedOut(error)
      fail(`${what}: not within ${env.SMOKE_TIMEOUT_S} s`, hint)
    })
    ok(`${what} (${Math.round(performance.now() - started)} ms)`)
  }
  const catalogue = async () =>
    (
      await sql<{ title: string | null; units_sold: number }[]>`
        select title, units_sold from catalogue where book_id = ${String(book.json.id)}`
    )[0]
  const statusOf = async (id: unknown) => (await call('GET', `/orders/${id}`)).json.status
  const consumerHint =
    '`npm run connector:status`, the [consumer] lines of `npm start`, .stack/connect/connect.log'
  const fulfilmentHint = 'the [fulfilment] and [consumer] lines of `npm start`, `npm run doctor`'
  try {
    await waitFor(
      'BookAdded applied by the consumer',
      async () => Boolean((await catalogue())?.title),
      consumerHint,
    )
    await waitFor(
      'OrderPlaced applied by the consumer',
      async () => ((await catalogue())?.units_sold ?? 0) >= 2,
      consumerHint,
    )
    await waitFor(
      `order ${order.json.id} fulfilled (OrderPlaced → fulfilment → ShipmentDispatched → order service)`,
      async () => (await statusOf(order.json.id)) === 'fulfilled',
      fulfilmentHint,
    )

    // The failing path on purpose: a warehouse that packs no copy of this book.
    const capacity = await call('PUT', `/books/${book.json.id}/warehouse-capacity`, { capacity: 0 })
    if (capacity.status !== 200) fail(`PUT warehouse-capacity answered ${capacity.status}`, 'the [api] lines')
    const doomed = await call('POST', '/orders', {
      customerId: crypto.randomUUID(),
      bookId: book.json.id,
      quantity: 1,
    })
    if (doomed.status !== 201)
      fail(`POST /orders answered ${doomed.status}: ${JSON.stringify(doomed.json)}`, 'the [api] lines')
    ok(`POST /orders → 201, order ${doomed.json.id} above the warehouse capacity`)
    await waitFor(
      `order ${doomed.json.id} cancelled (ShipmentFailed → stock returned, OrderCancelled)`,
      async () => (await statusOf(doomed.json.id)) === 'cancelled',
      fulfilmentHint,
    )
    const stock = (await call('GET', `/books/${book.json.id}`)).json.stock
    if (stock !== 1) fail(`the book's stock is ${stock}, not 3 - 2 (fulfilled) = 1`, fulfilmentHint)
    ok('the cancelled copy is back in stock (3 - 2 fulfilled = 1)')
    // OrderCancelled follows OrderPlaced on the order's partition: once one applied since the
    // cancellation, both of this order's are in the read model.
    const cancelledAt = new Date(String((await call('GET', `/orders/${doomed.json.id}`)).json.cancelledAt))
    await waitFor(
      'OrderCancelled applied: units sold net of the cancellation',
      async () => {
        const [applied] = await sql<{ n: number }[]>`
          select count(*)::int as n from consumed_events where event_type = 'OrderCancelled' and consumed_at >= ${cancelledAt}`
        return (applied?.n ?? 0) > 0 && (await catalogue())?.units_sold === 2
      },
      consumerHint,
    )
  } finally {
    await sql.end()
  }
  ok('a book and two orders travelled Postgres → Debezium → Kafka → consumer and fulfilment, and back')
  return 0
})
