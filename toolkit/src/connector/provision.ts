import type { Admin } from 'kafkajs'
import { z } from 'zod'
import { OptionsError } from '../errors.ts'
import { maxTopicNameLength, topicOf } from '../events/topics.ts'
import { ensureTopics } from '../kafka/client.ts'
import {
  type DeadLetterTopicSettings,
  deadLetterTopicSettingsSchema,
  deadLetterTopicSpec,
  defaultDeadLetterTopicSettings,
} from '../kafka/dead-letter-topic.ts'
import { checkAggregates, type OutboxConnectorOptions, outboxConnectorConfig } from './config.ts'
import type { ConnectClient, ConnectorStatus } from './connect-client.ts'
import { ConnectorError } from './errors.ts'
import { describeStatus, type RegisterOptions, registerConnector, validateConnector } from './register.ts'

export interface EventTopicsOptions {
  namespace: string
  /** One topic each, `<namespace>.<aggregate>`; the registry's `aggregates`. */
  aggregates: readonly string[]
  /** Partitions per event topic: events of one aggregate keep their order within a partition. */
  partitions: number
  /**
   * Kafka's `retention.ms` for the event topics (-1: for ever); the broker's default when not
   * given. Inbox rows outlive the records of their events (see startInboxPruner), so this is also
   * how long the consumers' inboxes keep them at least.
   */
  retentionMs?: number
  deadLetters?: DeadLetterTopicSettings
}

/** The event topics' segment roll: a record outlives its retention by at most this (a day at most). */
export const eventTopicSegmentMs = (retentionMs: number) => Math.min(retentionMs, 86_400_000)

const topicsSchema = z.strictObject({
  namespace: z.string(),
  aggregates: z.array(z.string()),
  partitions: z.number().int().min(1).max(1000),
  retentionMs: z
    .number()
    .int()
    .refine((ms) => ms === -1 || ms >= 1000, 'must be -1 (keep for ever) or at least 1000')
    .optional(),
  deadLetters: deadLetterTopicSettingsSchema.optional(),
})

/** The topics `options` asks for (name, partitions, configs), every name and setting checked before anything is created. */
export function plannedTopics(options: EventTopicsOptions) {
  const parsed = topicsSchema.safeParse(options)
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(topics)'}: ${issue.message}`,
    )
    throw new OptionsError(`invalid topic options:\n  ${lines.join('\n  ')}`)
  }
  const specs = [
    ...checkAggregates(options.aggregates).map((aggregate) => ({
      topic: topicOf(options.namespace, aggregate),
      partitions: options.partitions,
      ...(options.retentionMs === undefined
        ? {}
        : {
            configs: {
              'retention.ms': String(options.retentionMs),
              ...(options.retentionMs > 0
                ? { 'segment.ms': String(eventTopicSegmentMs(options.retentionMs)) }
                : {}),
            },
          }),
    })),
    deadLetterTopicSpec(options.namespace, options.deadLetters ?? defaultDeadLetterTopicSettings),
  ]
  const tooLong = specs.filter((spec) => spec.topic.length > maxTopicNameLength).map((spec) => spec.topic)
  if (tooLong.length > 0)
    throw new OptionsError(
      `topic names longer than Kafka's ${maxTopicNameLength} characters: ${tooLong.join(', ')}`,
    )
  return specs
}

/**
 * Creates one topic per aggregate with `partitions` partitions, and the dead-letter topic with its
 * own partitions and retention, before any event flows: auto-creation would give whatever the
 * broker's default is, or nothing where it is off. Existing topics are kept as they are. Every
 * name and setting is checked first: a bad one creates nothing.
 */
export function ensureEventTopics(admin: Admin, options: EventTopicsOptions) {
  return ensureTopics(admin, plannedTopics(options))
}

export interface ProvisionOptions extends RegisterOptions {
  connector: OutboxConnectorOptions
  topics: Omit<EventTopicsOptions, 'namespace'>
}

/**
 * Everything the outbox connector needs before events flow, in the order it needs it: the event
 * topics and the dead-letter topic, then the connector registered and RUNNING with its task.
 * Safe to run again: existing topics are kept, and the registration is a PUT. The config is built
 * (and checked) before anything is created. `kafkaAdmin` must be connected; the caller owns it.
 * Reports one line per topic and per connector part through `log`.
 */
export async function provisionConnector(
  kafkaAdmin: Admin,
  connect: ConnectClient,
  options: ProvisionOptions,
  log: (line: string) => void,
): Promise<ConnectorStatus> {
  // Everything is checked before anything is created: options, topic names, and Connect's verdict.
  const config = outboxConnectorConfig(options.connector)
  const topicOptions = { ...options.topics, namespace: options.connector.namespace }
  plannedTopics(topicOptions)
  if (!Number.isInteger(options.waitTimeoutMs) || options.waitTimeoutMs < 1000)
    throw new OptionsError(
      `waitTimeoutMs must be a whole number of milliseconds, at least 1000 (got ${options.waitTimeoutMs})`,
    )
  const errors = await validateConnector(connect, config)
  if (errors.length > 0)
    throw new ConnectorError(
      'CONFIG_REJECTED',
      `Connect rejected the connector config:\n  ${errors.join('\n  ')}`,
    )
  const topics = await ensureEventTopics(kafkaAdmin, topicOptions)
  for (const topic of topics) {
    log(`topic ${topic.topic}: ${topic.partitions} partitions${topic.created ? ' (created)' : ''}`)
  }
  const status = await registerConnector(connect, config, options, log)
  for (const line of describeStatus(status)) log(line)
  return status
}
