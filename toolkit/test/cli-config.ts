import type { CliConfigInput } from '../src/cli/config.ts'

/** A service's CLI config as the CLI tests take it: a billing service with one outbox. */
export const billingCliConfig: CliConfigInput = {
  postgres: { url: 'postgres://app:pw@db:5432/billing' },
  kafka: { brokers: ['kafka:9092'] },
  connect: { url: 'http://connect:8083' },
  connector: {
    name: 'billing',
    database: { host: 'db', name: 'billing', user: 'outbox_cdc', passwordRef: '${env:PW}' },
    outboxes: ['billing.outbox'],
    slot: 'billing_slot',
    publication: 'billing_pub',
    topicPrefix: 'billing',
    namespace: 'billing.events',
  },
  topics: { aggregates: ['invoice'] },
  consumer: { group: 'ledger' },
}
