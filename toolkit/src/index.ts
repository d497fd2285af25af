/**
 * outbox-cdc: the transactional outbox, relayed by Debezium from the write-ahead log to Kafka.
 * This entry point needs postgres.js and zod; Drizzle's table definitions are in `outbox-cdc/drizzle`.
 */

export { CodedError, EventContractError, OptionsError } from './errors.ts'
export {
  defineEvent,
  defineEvents,
  type EventDefinition,
  type EventOf,
  type EventRegistry,
  type EventTypeOf,
  type OutboxEvent,
  type PayloadOf,
} from './events/define.ts'
export { deadLetterTopicOf, defaultNamespace, isEventTopicOf, topicOf } from './events/topics.ts'
export { type AppendOptions, appendEvent } from './outbox/append.ts'
export {
  type DrizzleTransaction,
  drizzleExecutor,
  postgresJsExecutor,
  type SqlExecutor,
} from './outbox/executor.ts'
export type { OutboxTableName } from './outbox/table-name.ts'
export { type SchemaOptions, schemaSql } from './schema/sql.ts'
