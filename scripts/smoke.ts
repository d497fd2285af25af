import { setTimeout as delay } from 'node:timers/promises'
import postgres from 'postgres'
import { request } from 'undici'
import { z } from 'zod'
import { connectorName, httpUrl, parseEnv, postgresUrl } from '../lib/config.ts'
import { createConnectClient, isRunning } from '../lib/connect-client.ts'
import { CodedError } from '../lib/errors.ts'
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
 * `npm run smoke`: against a running pipeline (npm start), posts a book and an order and waits
 * until the consumer has applied both, printing each step, or what failed and where to look.
 */
runCli(async () => {
  const env = parseEnv(smokeEnv, withLocalStackDefaults(), 'smoke')
  const api = env.API_URL ?? `http://127.0.0.1:${env.API_PORT}`
  const ok = (line: string) => console.log(`[OK] ${line}`)
  const fail = (what: string, hint: string): never => {
    throw new SmokeFailure(`${what}\n  Where to look: ${hint}`)
  }
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
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

  const status = await createConnectClient(env.CONNECT_URL).status(env.CONNECTOR_NAME)
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

  const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} })
  try {
    const started = performance.now()
    const deadline = Date.now() + env.SMOKE_TIMEOUT_S * 1000
    let seen = { added: false, placed: false }
    while (Date.now() < deadline && !(seen.added && seen.placed)) {
      const [row] = await sql<{ title: string | null; units_sold: number }[]>`
        select title, units_sold from catalogue where book_id = ${String(book.json.id)}`
      const next = { added: Boolean(row?.title), placed: (row?.units_sold ?? 0) >= 2 }
      if (next.added && !seen.added)
        ok(`BookAdded applied by the consumer (${Math.round(performance.now() - started)} ms)`)
      if (next.placed && !seen.placed)
        ok(`OrderPlaced applied by the consumer (${Math.round(performance.now() - started)} ms)`)
      seen = next
      if (!(seen.added && seen.placed)) await delay(100)
    }
    if (!seen.added || !seen.placed) {
      fail(
        `the consumer did not apply ${seen.added ? 'OrderPlaced' : 'BookAdded'} within ${env.SMOKE_TIMEOUT_S} s`,
        '`npm run connector:status`, the [consumer] lines of `npm start`, .stack/connect/connect.log',
      )
    }
  } finally {
    await sql.end()
  }
  ok('a book and an order travelled Postgres → Debezium → Kafka → consumer')
  return 0
})
