import type { Admin } from 'kafkajs'
import { topicOf } from '../events/topics.ts'
import { ensureTopics } from '../kafka/client.ts'
import {
  type DeadLetterTopicSettings,
  deadLetterTopicSpec,
  defaultDeadLetterTopicSettings,
} from '../kafka/dead-letter-topic.ts'
import { checkAggregates, type OutboxConnectorOptions, outboxConnectorConfig } from './config.ts'
import type { ConnectClient, ConnectorStatus } from './connect-client.ts'
import { describeStatus, type RegisterOptions, registerConnector } from './register.ts'

export interface EventTopicsOptions {
  namespace: string
  /** One topic each, `<namespace>.<aggregate>`; the registry's `aggregates`. */
  aggregates: readonly string[]
  /** Partitions per event topic: events of one aggregate keep their order within a partition. */
  partitions: number
  deadLetters?: DeadLetterTopicSettings
}

/**
 * Creates one topic per aggregate with `partitions` partitions, and the dead-letter topic with its
 * own partitions and retention, before any event flows: auto-creation would give whatever the
 * broker's default is, or nothing where it is off. Existing topics are kept as they are.
 */
export function ensureEventTopics(admin: Admin, options: EventTopicsOptions) {
  return ensureTopics(admin, [
    ...checkAggregates(options.aggregates).map((aggregate) => ({
      topic: topicOf(options.namespace, aggregate),
      partitions: options.partitions,
    })),
    deadLetterTopicSpec(options.namespace, options.deadLetters ?? defaultDeadLetterTopicSettings),
  ])
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
  const config = outboxConnectorConfig(options.connector)
  const topics = await ensureEventTopics(kafkaAdmin, {
    ...options.topics,
    namespace: options.connector.namespace,
  })
  for (const topic of topics) {
    log(`topic ${topic.topic}: ${topic.partitions} partitions${topic.created ? ' (created)' : ''}`)
  }
  const status = await registerConnector(connect, config, options, log)
  for (const line of describeStatus(status)) log(line)
  return status
}
