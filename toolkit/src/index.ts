/**
 * outbox-cdc: the transactional outbox, relayed by Debezium from the write-ahead log to Kafka.
 * This entry point needs its peers postgres.js, kafkajs and zod; Drizzle's table definitions are in
 * `outbox-cdc/drizzle` (which needs drizzle-orm).
 */

export {
  type CliConfig,
  type CliConfigInput,
  cliConfigSchema,
  cliEnvOverrides,
  defineCliConfig,
  loadCliConfig,
  parseCliConfig,
} from './cli/config.ts'
export { consoleOptionsOf, consoleTokenOf, consoleTokenVariable } from './cli/console-command.ts'
export { doctorTargetsOf } from './cli/doctor-command.ts'
export { eventsTailGroupPrefix } from './cli/kafka-commands.ts'
export { type CliIo, processIo, runMain, runOutboxCli, usage } from './cli/run.ts'
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
export {
  type DeleteConnectorRequest,
  type DeleteConnectorResult,
  deleteConnector,
} from './connector/delete.ts'
export { type ConfigChange, diffConnectorConfig, formatChange, maskValue } from './connector/diff.ts'
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
export { consoleMemory } from './console/memory.ts'
export type { StageId } from './console/stages.ts'
export {
  type ConsoleOptions,
  consoleUrl,
  consoleUrlWithToken,
  type RunningConsole,
  startConsole,
} from './console/start-console.ts'
export {
  type ApplyOutcome,
  applyBatch,
  applyEvent,
  applyInTransaction,
  type BatchHandler,
  commitBatch,
  defineInboxApp,
  type EventContext,
  type HandlerResult,
  type InboxApp,
  type InboxEntry,
  type LockKey,
  type OnRefused,
  type Refusal,
  type Sql,
  type TxGuard,
} from './consumer/apply-event.ts'
export { ConsumerLifecycle, type ConsumerState } from './consumer/consumer-state.ts'
export { deadLetterMessage, dlqHeader, publishDeadLetter } from './consumer/dead-letter.ts'
export { ConsumerError, type ConsumerErrorCode } from './consumer/errors.ts'
export {
  createEventConsumer,
  type EventConsumer,
  type EventConsumerOptions,
} from './consumer/event-consumer.ts'
export { type ConsumerStats, handleBatch } from './consumer/handle-batch.ts'
export { startHealthServer } from './consumer/health.ts'
export { type IncomingEvent, type ParsedEvent, parseEvent, toIncoming } from './consumer/incoming-event.ts'
export { type ConsumerMetrics, createConsumerMetrics } from './consumer/metrics.ts'
export { listParkedKeys, type ParkedKey } from './consumer/parked-letters.ts'
export type { RetryPolicy } from './consumer/process-message.ts'
export type { ConsumerTarget, DoctorCheck, DoctorDeps, DoctorTargets } from './doctor/check.ts'
export { consumerLagFinding } from './doctor/consumer-lag.ts'
export { deadLettersFinding, redriveGroupOf } from './doctor/dead-letters.ts'
export { type Finding, finding, type Severity } from './doctor/finding.ts'
export { replicationSlotFinding } from './doctor/replication-slot.ts'
export { doctorChecks, runDoctor } from './doctor/run-doctor.ts'
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
export { type InboxSize, inboxKey, readInboxHorizon, readInboxSize } from './inbox/prune-sql.ts'
export {
  type InboxPruner,
  type InboxPrunerStatus,
  type InboxPruningOptions,
  startInboxPruner,
} from './inbox/pruner.ts'
export { committedSourceTime } from './inbox/source-position.ts'
export {
  createKafka,
  ensureTopics,
  formatKafkaLog,
  kafkaAnswers,
  kafkaLogCreator,
  parseBrokers,
  quietWhileDisconnecting,
  type TopicSpec,
} from './kafka/client.ts'
export {
  type DeadLetterTopicSettings,
  deadLetterTopicSettingsSchema,
  deadLetterTopicSpec,
  defaultDeadLetterTopicSettings,
  ensureDeadLetterTopic,
} from './kafka/dead-letter-topic.ts'
export { type Logger, silentLogger } from './logger.ts'
export { type CommandNamer, cliCommands, type Operation } from './operations.ts'
export { type AppendOptions, appendEvent } from './outbox/append.ts'
export {
  type DrizzleTransaction,
  drizzleExecutor,
  postgresJsExecutor,
  type SqlExecutor,
} from './outbox/executor.ts'
export type { OutboxTableName } from './outbox/table-name.ts'
export { redactText, redactUrl, withoutUserinfo } from './redact.ts'
export {
  type MigrateOptions,
  type MigrateResult,
  MigrationError,
  migrateToolkitSchema,
  type ToolkitMigration,
  toolkitMigrations,
} from './schema/migrate.ts'
export { defaultParkedLetters, type SchemaOptions, schemaSql } from './schema/sql.ts'
export {
  type ConnectSecurity,
  type ConnectSecurityInput,
  connectSecurityFromEnv,
  connectSecuritySchema,
} from './security/connect.ts'
export {
  ConnectionFailure,
  type ConnectionFailureCode,
  explainConnectionError,
} from './security/explain.ts'
export {
  type KafkaClientSecurity,
  type KafkaSecurity,
  type KafkaSecurityInput,
  kafkaClientSecurity,
  kafkaSecurityFromEnv,
  kafkaSecuritySchema,
} from './security/kafka.ts'
export {
  connectPostgres,
  debeziumSslConfig,
  type PostgresTls,
  postgresSslOption,
  postgresTlsOf,
  postgresTlsSchema,
  withTlsParameters,
} from './security/postgres.ts'
export { readSecret, type SecretRef, secretRefSchema } from './security/secret.ts'
export {
  describeBacklog,
  type SlotBacklog,
  slotBacklog,
  unownedSlots,
} from './slots/backlog.ts'
export { type DropUnownedSlotRequest, dropUnownedSlot } from './slots/drop-unowned.ts'
export {
  advanceSlot,
  connectorOwningSlot,
  dropSlot,
  humanBytes,
  listSlots,
  SlotError,
  type SlotErrorCode,
  type SlotInfo,
} from './slots/slots.ts'
export {
  type DeadLetter,
  isLetterOf,
  listDeadLetters,
  RedriveBusyError,
  redriveDeadLetters,
  redrivenCopy,
  toDeadLetter,
} from './tools/dlq.ts'
export {
  type EventFilter,
  type EventTail,
  matchesFilter,
  startEventTail,
  type TailedEvent,
  type TailOptions,
} from './tools/event-tail.ts'
export { deleteGroup, type ReadMode, readTopicToEnd } from './tools/read-topic.ts'
export { parseReplayFrom, type ReplayFrom, ReplayRefused, replayGroup } from './tools/replay.ts'
