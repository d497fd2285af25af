/**
 * outbox-cdc/testing: runs a service's handlers against a real Postgres with events built from
 * its definitions, without Kafka, to assert what they wrote and what they appended.
 */
export {
  type AppendedEvent,
  type DeliverOptions,
  type Delivery,
  type InboxTestKit,
  inboxTestKit,
} from './testing/inbox-kit.ts'
