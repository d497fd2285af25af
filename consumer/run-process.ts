import { hostname } from 'node:os'
import type { InboxApp } from 'outbox-cdc'
import {
  createConnectClient,
  createConsumerMetrics,
  createEventConsumer,
  createKafka,
  parseBrokers,
  startHealthServer,
} from 'outbox-cdc'
import { openDatabase } from '../db/client.ts'
import { connectSecurityOfEnv, kafkaSecurityOfEnv } from '../lib/config.ts'
import { deadLetterTopicSettingsOf } from '../lib/dead-letter-topic.ts'
import { createLogger } from '../lib/logger.ts'
import { runService, type Service, type ServiceControl } from '../lib/run-service.ts'
import { type ConsumerConfig, retryPolicyOf } from './config.ts'

export interface ConsumerProcess {
  /** `consumer`, `fulfilment`: the logger's name and the client id's start. */
  name: string
  config: ConsumerConfig
  app: InboxApp
  groupId: string
  /** `GET /health` and `/metrics`; 0 turns them off. */
  healthPort: number
  /** The topics to read; every `<namespace>.*` topic when not given. */
  topics?: string[]
}

/** How long a stop may take to finish the message in hand before the process exits anyway. */
const stopTimeoutMs = 15_000

/**
 * A consumer process on the shared runtime: applies events until SIGINT/SIGTERM, then leaves the
 * group cleanly. On a fatal error it logs why and exits 1 without committing the message in hand,
 * for a supervisor to restart it; the restarted process resumes from the last committed offset.
 * `load` reads the process's config; a throw there (bad config) is printed and exits 1.
 */
export function runConsumerProcess(load: () => ConsumerProcess) {
  runService((control) => consumerService(load(), control), { stopTimeoutMs })
}

async function consumerService(p: ConsumerProcess, control: ServiceControl): Promise<Service> {
  const { config } = p
  const log = createLogger(p.name, config.LOG_LEVEL)
  const database = openDatabase(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: `outbox-cdc-${p.name}`,
  })
  // Host and pid in the client id tell the group's members apart (kafka-consumer-groups
  // --describe, the fault suite's kills).
  const kafka = createKafka({
    brokers: parseBrokers(config.KAFKA_BROKERS),
    clientId: `outbox-cdc-${p.name}-${hostname()}-${process.pid}`,
    security: kafkaSecurityOfEnv(config),
  })

  const fatal = (error: unknown, message: string) => {
    if (control.stopping) return
    log.fatal({ err: error, ...consumer.stats }, message)
    control.exit(1)
  }
  const metrics = createConsumerMetrics()
  const consumer = createEventConsumer({
    metrics,
    kafka,
    sql: database.db.$client,
    groupId: p.groupId,
    namespace: config.TOPIC_NAMESPACE,
    app: p.app,
    ...(p.topics ? { topics: p.topics } : {}),
    log,
    retry: retryPolicyOf(config),
    partitionsConcurrently: config.CONSUMER_PARTITIONS_CONCURRENTLY,
    batchSize: config.CONSUMER_BATCH_SIZE,
    topicWatchIntervalMs: config.CONSUMER_TOPIC_WATCH_MS,
    deadLetterTopic: deadLetterTopicSettingsOf(config),
    keepKeyOrder: config.DLQ_KEEP_KEY_ORDER,
    onFatal: (error) => fatal(error, 'consumer stopped by a fatal error; exiting 1 for a restart'),
    ...(config.INBOX_RETENTION !== null && config.CONNECT_URL
      ? {
          inboxPruning: {
            retentionMs: config.INBOX_RETENTION,
            intervalMs: config.INBOX_PRUNE_INTERVAL_MS,
            marginMs: config.INBOX_CLOCK_MARGIN_MS,
            connect: createConnectClient(config.CONNECT_URL, 10_000, {
              security: connectSecurityOfEnv(config),
            }),
            connectorName: config.CONNECTOR_NAME,
          },
        }
      : {}),
  })
  const health =
    p.healthPort > 0 ? await startHealthServer(consumer, p.healthPort, '127.0.0.1', metrics) : undefined
  // postgres.js can throw outside any promise when a backend dies mid-statement
  // (porsager/postgres#1208): leave through the fatal path, uncommitted work is redelivered.
  process.on('uncaughtException', (error) => fatal(error, 'uncaught exception; exiting 1 for a restart'))

  return {
    async start() {
      await consumer.start()
      // A stop that came during the start ended it early: the consumer never started.
      if (control.stopping) return
      // 'waiting' when none of its topics exists yet: started, and reading each once it appears.
      log.info(
        { group: p.groupId, namespace: config.TOPIC_NAMESPACE, state: consumer.state, ...consumer.topics },
        `${p.name} started`,
      )
    },
    async stop() {
      await consumer.stop().catch(() => {})
      await health?.close()
      await database.close()
    },
    onSignal: (signal) => log.info({ signal, ...consumer.stats }, 'stopping: finishing the message in hand'),
  }
}
