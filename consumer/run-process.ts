import { hostname } from 'node:os'
import type { InboxApp } from 'outbox-cdc'
import {
  createConsumerMetrics,
  createEventConsumer,
  createKafka,
  parseBrokers,
  startHealthServer,
} from 'outbox-cdc'
import { openDatabase } from '../db/client.ts'
import { kafkaSecurityOfEnv } from '../lib/config.ts'
import { deadLetterTopicSettingsOf } from '../lib/dead-letter-topic.ts'
import { createLogger } from '../lib/logger.ts'
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

/**
 * A consumer process on the shared runtime: applies events until SIGINT/SIGTERM, then leaves the
 * group cleanly. On a fatal error it logs why and exits 1 without committing the message in hand,
 * for a supervisor to restart it; the restarted process resumes from the last committed offset.
 */
export async function runConsumerProcess(p: ConsumerProcess) {
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

  let health: Awaited<ReturnType<typeof startHealthServer>> | undefined
  let exiting = false
  const exit = async (code: number, reason: Record<string, unknown>, message: string) => {
    if (exiting) return
    exiting = true
    ;(code === 0 ? log.info.bind(log) : log.fatal.bind(log))({ ...reason, ...consumer.stats }, message)
    const forced = setTimeout(() => process.exit(code), 15_000)
    forced.unref()
    await consumer.stop().catch(() => {})
    await health?.close()
    await database.close()
    process.exit(code)
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
    onFatal: (error) =>
      void exit(1, { err: error }, 'consumer stopped by a fatal error; exiting 1 for a restart'),
  })
  if (p.healthPort > 0) health = await startHealthServer(consumer, p.healthPort, '127.0.0.1', metrics)
  // postgres.js can throw outside any promise when a backend dies mid-statement
  // (porsager/postgres#1208): leave through the fatal path, uncommitted work is redelivered.
  process.on(
    'uncaughtException',
    (error) => void exit(1, { err: error }, 'uncaught exception; exiting 1 for a restart'),
  )
  process.on('SIGINT', () => void exit(0, { signal: 'SIGINT' }, 'stopping: finishing the message in hand'))
  process.on('SIGTERM', () => void exit(0, { signal: 'SIGTERM' }, 'stopping: finishing the message in hand'))

  await consumer.start()
  // 'waiting' when none of its topics exists yet: started, and reading each once it appears.
  log.info(
    { group: p.groupId, namespace: config.TOPIC_NAMESPACE, state: consumer.state, ...consumer.topics },
    `${p.name} started`,
  )
}

/** An entry point's last word: a coded error as one line, anything else in full; exit 1. */
export function exitOnStartFailure(error: unknown) {
  console.error(error instanceof Error && 'code' in error ? `${error.code}: ${error.message}` : error)
  process.exit(1)
}
