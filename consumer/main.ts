import { hostname } from 'node:os'
import { openDatabase } from '../db/client.ts'
import { deadLetterTopicSettingsOf } from '../lib/dead-letter-topic.ts'
import { createKafka, parseBrokers } from '../lib/kafka.ts'
import { createLogger } from '../lib/logger.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { loadConsumerConfig, retryPolicyOf } from './config.ts'
import { createEventConsumer } from './event-consumer.ts'
import { startHealthServer } from './health.ts'
import { createConsumerMetrics } from './metrics.ts'

/**
 * The consumer process: applies events until SIGINT/SIGTERM, then leaves the group cleanly. On a
 * fatal error it logs why and exits 1 without committing the message in hand, for a supervisor
 * to restart it; the restarted process resumes from the last committed offset.
 */
async function main() {
  const config = loadConsumerConfig(withLocalStackDefaults())
  const log = createLogger('consumer', config.LOG_LEVEL)
  const database = openDatabase(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: 'outbox-cdc-consumer',
  })
  // Host and pid in the client id tell the group's members apart (kafka-consumer-groups
  // --describe, the fault suite's kills).
  const kafka = createKafka({
    brokers: parseBrokers(config.KAFKA_BROKERS),
    clientId: `outbox-cdc-consumer-${hostname()}-${process.pid}`,
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
    db: database.db,
    groupId: config.CONSUMER_GROUP,
    namespace: config.TOPIC_NAMESPACE,
    log,
    retry: retryPolicyOf(config),
    partitionsConcurrently: config.CONSUMER_PARTITIONS_CONCURRENTLY,
    batchSize: config.CONSUMER_BATCH_SIZE,
    deadLetterTopic: deadLetterTopicSettingsOf(config),
    onFatal: (error) =>
      void exit(1, { err: error }, 'consumer stopped by a fatal error; exiting 1 for a restart'),
  })
  if (config.CONSUMER_HEALTH_PORT > 0)
    health = await startHealthServer(consumer, config.CONSUMER_HEALTH_PORT, '127.0.0.1', metrics)
  // postgres.js can throw outside any promise when a backend dies mid-statement
  // (porsager/postgres#1208): leave through the fatal path, uncommitted work is redelivered.
  process.on(
    'uncaughtException',
    (error) => void exit(1, { err: error }, 'uncaught exception; exiting 1 for a restart'),
  )
  process.on('SIGINT', () => void exit(0, { signal: 'SIGINT' }, 'stopping: finishing the message in hand'))
  process.on('SIGTERM', () => void exit(0, { signal: 'SIGTERM' }, 'stopping: finishing the message in hand'))

  await consumer.start()
  log.info({ group: config.CONSUMER_GROUP, namespace: config.TOPIC_NAMESPACE }, 'consumer running')
}

main().catch((error: unknown) => {
  console.error(error instanceof Error && 'code' in error ? `${error.code}: ${error.message}` : error)
  process.exit(1)
})
