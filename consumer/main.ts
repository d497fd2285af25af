import { openDatabase } from '../db/client.ts'
import { createKafka, parseBrokers } from '../lib/kafka.ts'
import { createLogger } from '../lib/logger.ts'
import { loadConsumerConfig } from './config.ts'
import { createEventConsumer } from './event-consumer.ts'

/** The consumer process: applies events until SIGINT/SIGTERM, then leaves the group cleanly. */
async function main() {
  const config = loadConsumerConfig()
  const log = createLogger('consumer', config.LOG_LEVEL)
  const database = openDatabase(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: 'outbox-cdc-consumer',
  })
  const kafka = createKafka({ brokers: parseBrokers(config.KAFKA_BROKERS), clientId: 'outbox-cdc-consumer' })
  const consumer = createEventConsumer({
    kafka,
    db: database.db,
    groupId: config.CONSUMER_GROUP,
    namespace: config.TOPIC_NAMESPACE,
    log,
  })

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal, ...consumer.stats }, 'stopping: finishing the message in hand')
    await consumer.stop()
    await database.close()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))

  await consumer.start()
  log.info({ group: config.CONSUMER_GROUP, namespace: config.TOPIC_NAMESPACE }, 'consumer running')
}

main().catch((error: unknown) => {
  console.error(error instanceof Error && 'code' in error ? `${error.code}: ${error.message}` : error)
  process.exit(1)
})
