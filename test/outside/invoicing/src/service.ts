import {
  appendEvent,
  createEventConsumer,
  createKafka,
  defineInboxApp,
  migrateToolkitSchema,
  postgresJsExecutor,
  silentLogger,
} from 'outbox-cdc'
import postgres from 'postgres'
import { invoicing } from './events.ts'

const env = (name: string) =>
  process.env[name] ??
  (() => {
    throw new Error(`${name} is not set`)
  })()
const sql = postgres(env('DATABASE_URL'), { max: 4, onnotice: () => {} })
const kafka = createKafka({ brokers: env('KAFKA_BROKERS').split(','), clientId: 'invoicing' })

/** The toolkit's tables in the service's own schema, then the service's own. */
async function migrate() {
  const schema = await migrateToolkitSchema(sql, {
    outboxes: [{ schema: 'billing', table: 'outbox' }],
    heartbeat: { schema: 'billing', table: 'heartbeat' },
    inboxes: [{ schema: 'billing', table: 'inbox' }],
    publication: env('PUBLICATION'),
    replicationRole: 'outbox_cdc',
  })
  console.log(`toolkit schema: version ${schema.from} -> ${schema.to}`)
  await sql`create table if not exists billing.invoices (id uuid primary key, customer text not null, amount_cents int not null)`
  // The ledger refuses amounts of a million cents or more: the poison the test sends.
  await sql`create table if not exists billing.ledger (invoice_id uuid primary key, amount_cents int not null constraint small check (amount_cents < 1000000))`
}

/** Each invoice and its event in one transaction of the service's own. */
async function issue(count: number, amountCents: number) {
  for (let i = 0; i < count; i += 1) {
    const invoice = { id: crypto.randomUUID(), customer: `customer-${i % 7}`, amountCents }
    await sql.begin(async (tx) => {
      await tx`insert into billing.invoices (id, customer, amount_cents) values (${invoice.id}, ${invoice.customer}, ${amountCents})`
      await appendEvent(
        postgresJsExecutor(tx),
        { schema: 'billing', table: 'outbox' },
        invoicing.create('InvoiceIssued', invoice),
      )
    })
  }
}

const ledger = defineInboxApp({
  registry: invoicing,
  inbox: { schema: 'billing', table: 'inbox' },
  handlers: {
    InvoiceIssued: async (tx, guard, invoices) => {
      for (const invoice of invoices)
        await tx`insert into billing.ledger (invoice_id, amount_cents)
          select ${invoice.id}, ${invoice.amountCents} where txid_current() = ${guard}::bigint`
    },
  },
})

/** Applies events until SIGTERM, then leaves the group cleanly. */
async function consume() {
  const consumer = createEventConsumer({
    kafka,
    sql,
    app: ledger,
    groupId: 'invoicing-ledger',
    namespace: invoicing.namespace,
    log: silentLogger,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
    onFatal: () => process.exit(1),
  })
  process.on(
    'SIGTERM',
    () =>
      void consumer
        .stop()
        .then(() => sql.end())
        .then(() => process.exit(0)),
  )
  await consumer.start()
  console.log('consuming')
}

const [command, count, amount] = process.argv.slice(2)
const commands: Record<string, () => Promise<void>> = {
  migrate,
  issue: () => issue(Number(count), Number(amount ?? 100)),
  consume,
}
const run = commands[command ?? '']
if (!run) throw new Error(`usage: service migrate|issue N [cents]|consume`)
await run()
if (command !== 'consume') await sql.end()
