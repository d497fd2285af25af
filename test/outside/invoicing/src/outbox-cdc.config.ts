import { defineCliConfig } from 'outbox-cdc'
import { invoicing } from './events.ts'

/** What `npx outbox-cdc --config dist/outbox-cdc.config.js …` operates: this service's pipeline. */
const env = (name: string) => process.env[name] ?? ''
const database = new URL(env('DATABASE_URL'))
export default defineCliConfig({
  postgres: { url: env('DATABASE_URL') },
  kafka: { brokers: env('KAFKA_BROKERS').split(',') },
  connect: { url: env('CONNECT_URL') },
  connector: {
    name: env('CONNECTOR'),
    database: {
      host: database.hostname,
      port: Number(database.port),
      name: database.pathname.slice(1),
      user: 'outbox_cdc',
      passwordRef: env('PASSWORD_REF'),
    },
    outboxes: ['billing.outbox'],
    heartbeat: { table: 'billing.heartbeat', intervalMs: 5000 },
    slot: env('SLOT'),
    publication: env('PUBLICATION'),
    topicPrefix: env('CONNECTOR'),
    namespace: invoicing.namespace,
  },
  topics: { aggregates: [...invoicing.aggregates] },
  waitTimeoutMs: 120_000,
  consumer: { group: 'invoicing-ledger' },
  console: { port: Number(env('CONSOLE_PORT') || 3002) },
})
