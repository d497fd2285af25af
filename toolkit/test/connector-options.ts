import type { OutboxConnectorOptions } from '../src/connector/config.ts'

/** A service's connector options as the connector tests take them: an invoicing service's outbox. */
export const invoicingConnectorOptions: OutboxConnectorOptions = {
  name: 'invoicing-outbox',
  database: { host: 'db', port: 5433, name: 'invoicing', user: 'dbz', passwordRef: '${env:DBZ_PASSWORD}' },
  outboxes: ['billing.outbox'],
  heartbeat: { table: 'billing.heartbeat', intervalMs: 5000 },
  slot: 'invoicing_slot',
  publication: 'invoicing_pub',
  topicPrefix: 'inv',
  namespace: 'invoicing.events',
}
