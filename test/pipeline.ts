import { join } from 'node:path'
import { type Admin, type Consumer, type Kafka, logLevel } from 'kafkajs'
import {
  createConnectClient,
  createConsumerMetrics,
  createEventConsumer,
  createKafka,
  type IncomingEvent,
  provisionConnector,
  toIncoming,
} from 'outbox-cdc'
import type { ProvidedContext } from 'vitest'
import { buildApp } from '../api/app.ts'
import { loadConnectorConfig, provisionOptionsOf } from '../connector/config.ts'
import { type Db, openDatabase } from '../db/client.ts'
import { migrateDatabase } from '../db/migrate.ts'
import { type BookstoreTargets, bookstoreTargets } from '../doctor/config.ts'
import { isEventTopicOf } from '../lib/events.ts'
import { createLogger } from '../lib/logger.ts'
import { connectorPasswordKey, connectorSecretsFile } from '../lib/replication.ts'
import { orderSideOn } from './order-side.ts'
import { createTestDatabase, uniqueName } from './support.ts'

/** A record as the recorder saw it: the consumer's own view of a record, plus its timestamp. */
export type RecordedMessage = IncomingEvent & { timestamp: string }

/**
 * The whole pipeline for one test file, isolated on the shared stack: its own database (migrated),
 * Debezium connector, slot, topic namespace and consumer group; the API built in-process. Also a
 * recorder that keeps every record written to the namespace's topics, to assert on Kafka itself.
 */
export async function startPipeline(
  stack: ProvidedContext['stack'],
  options: {
    consumer?: boolean
    connector?: Record<string, string>
    /**
     * Runs once the database is migrated, before any topic of the namespace exists and before the
     * connector is registered: to start consumers first, as an operator may.
     */
    beforeConnector?: (early: {
      kafka: Kafka
      admin: Admin
      db: Db
      namespace: string
      id: string
    }) => Promise<void>
  } = {},
) {
  const id = uniqueName('p').toLowerCase()
  const db = await createTestDatabase(stack.postgres.adminUrl, `it_${id}`)
  await migrateDatabase(db.url)
  const namespace = `it.${id}.events`
  const connectorEnv = loadConnectorConfig({
    CONNECT_URL: stack.connect.url,
    KAFKA_BROKERS: stack.kafka.brokers.join(','),
    DATABASE_URL: db.url,
    CONNECTOR_NAME: `it-${id}`,
    CONNECTOR_SLOT_NAME: `slot_${id}`,
    CONNECTOR_TOPIC_PREFIX: `it-${id}`,
    TOPIC_NAMESPACE: namespace,
    ...(stack.connectorDatabase
      ? {
          CONNECTOR_DB_HOST: stack.connectorDatabase.host,
          CONNECTOR_DB_PORT: String(stack.connectorDatabase.port),
        }
      : {}),
    CONNECTOR_DB_PASSWORD_REF: stack.secretsDir
      ? `\${file:${join(stack.secretsDir, connectorSecretsFile)}:${connectorPasswordKey}}`
      : '${env:OUTBOX_CONNECT_DB_PASSWORD}',
    ...options.connector,
  })
  const kafka = createKafka({
    brokers: stack.kafka.brokers,
    clientId: `it-${id}`,
    logLevel: logLevel.NOTHING,
  })
  const admin = kafka.admin()
  await admin.connect()
  const connect = createConnectClient(stack.connect.url)
  const database = openDatabase(db.url, { max: 5 })
  await options.beforeConnector?.({ kafka, admin, db: database.db, namespace, id })
  await provisionConnector(admin, connect, provisionOptionsOf(connectorEnv), () => {})

  const app = await buildApp({ db: database.db, logger: false })

  const records: RecordedMessage[] = []
  const recorder: Consumer = kafka.consumer({ groupId: `recorder-${id}` })
  await recorder.connect()
  await recorder.subscribe({
    topics: [new RegExp(`^${namespace.replaceAll('.', '\\.')}\\.`)],
    fromBeginning: true,
  })
  await recorder.run({
    eachMessage: async ({ topic, partition, message }) => {
      records.push({ ...toIncoming(topic, partition, message), timestamp: message.timestamp })
    },
  })

  const consumerMetrics = createConsumerMetrics()
  const consumer =
    options.consumer === false
      ? undefined
      : createEventConsumer({
          kafka,
          ...orderSideOn(database.db),
          groupId: `consumer-${id}`,
          namespace,
          log: createLogger('it-consumer', 'silent'),
          retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 200 },
          metrics: consumerMetrics,
        })
  await consumer?.start()

  return {
    id,
    db,
    database,
    app,
    kafka,
    admin,
    connect,
    connectorEnv,
    namespace,
    records,
    consumer,
    consumerMetrics,
    async stop() {
      await consumer?.stop()
      await recorder.disconnect()
      await app.close()
      await database.close()
      await connect.remove(connectorEnv.CONNECTOR_NAME)
      await admin.deleteTopics({
        topics: (await admin.listTopics()).filter((t) => isEventTopicOf(namespace, t)),
      })
      await admin.disconnect()
      await db.drop()
    },
  }
}

export type Pipeline = Awaited<ReturnType<typeof startPipeline>>

/** What the doctor (and the console) check on `pipeline`: its connector, slot, namespace and group. */
export const doctorTargetsOf = (
  pipeline: Pipeline,
  overrides: Partial<BookstoreTargets> = {},
): BookstoreTargets =>
  bookstoreTargets({
    connectorName: pipeline.connectorEnv.CONNECTOR_NAME,
    slotName: pipeline.connectorEnv.CONNECTOR_SLOT_NAME,
    publication: pipeline.connectorEnv.CONNECTOR_PUBLICATION,
    namespace: pipeline.namespace,
    consumerGroup: `consumer-${pipeline.id}`,
    maxSlotRetainedBytes: 512 * 1024 * 1024,
    maxConsumerLag: 1000,
    staleAfterS: 3,
    ...overrides,
  })
