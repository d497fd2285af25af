/**
 * outbox-cdc: the transactional outbox, relayed by Debezium from the write-ahead log to Kafka.
 * This entry point needs postgres.js and zod; Drizzle's table definitions are in `outbox-cdc/drizzle`.
 */

export {
  checkAggregates,
  heartbeatActionQuery,
  type OutboxConnectorOptions,
  outboxConnectorConfig,
  outboxConnectorOptionsSchema,
} from './connector/config.ts'
export {
  type ConfigValidation,
  type ConnectClient,
  ConnectError,
  type ConnectorPlugin,
  type ConnectorState,
  ConnectorStateError,
  type ConnectorStatus,
  createConnectClient,
  debeziumPostgresClass,
  isInState,
  isRunning,
} from './connector/connect-client.ts'
export { ConnectorError, type ConnectorErrorCode } from './connector/errors.ts'
export {
  type EventTopicsOptions,
  ensureEventTopics,
  type ProvisionOptions,
  provisionConnector,
} from './connector/provision.ts'
export {
  describeStatus,
  type RegisterOptions,
  registerConnector,
  validateConnector,
} from './connector/register.ts'
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
export {
  createKafka,
  ensureTopics,
  formatKafkaLog,
  kafkaAnswers,
  kafkaLogCreator,
  parseBrokers,
  type TopicSpec,
} from './kafka/client.ts'
export {
  type DeadLetterTopicSettings,
  deadLetterTopicEnv,
  deadLetterTopicSettingsOf,
  deadLetterTopicSpec,
  defaultDeadLetterTopicSettings,
  ensureDeadLetterTopic,
} from './kafka/dead-letter-topic.ts'
export { type AppendOptions, appendEvent } from './outbox/append.ts'
export {
  type DrizzleTransaction,
  drizzleExecutor,
  postgresJsExecutor,
  type SqlExecutor,
} from './outbox/executor.ts'
export type { OutboxTableName } from './outbox/table-name.ts'
export { redactText, redactUrl, withoutUserinfo } from './redact.ts'
export { type SchemaOptions, schemaSql } from './schema/sql.ts'
