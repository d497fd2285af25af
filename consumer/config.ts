import { z } from 'zod'
import {
  connectorName,
  connectSecurityEnv,
  consumerGroup,
  httpUrl,
  inboxRetention,
  kafkaBrokers,
  kafkaSecurityEnv,
  logLevel,
  parseEnv,
  postgresUrl,
  topicNamespace,
} from '../lib/config.ts'
import { deadLetterTopicEnv } from '../lib/dead-letter-topic.ts'

export const consumerEnvSchema = z
  .object({
    DATABASE_URL: postgresUrl,
    KAFKA_BROKERS: kafkaBrokers,
    ...kafkaSecurityEnv,
    CONSUMER_GROUP: consumerGroup,
    TOPIC_NAMESPACE: topicNamespace,
    /** The dead-letter topic the consumer creates at start when connector:register has not yet. */
    ...deadLetterTopicEnv,
    DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(5),
    /** Tries per message, the first included, before a transient failure stops the consumer or another failure dead-letters it. */
    CONSUMER_RETRY_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(6),
    CONSUMER_RETRY_BASE_MS: z.coerce.number().int().min(1).max(60_000).default(200),
    CONSUMER_RETRY_MAX_MS: z.coerce.number().int().min(1).max(600_000).default(10_000),
    /** Partitions worked on at once; events of one aggregate stay in order either way. */
    CONSUMER_PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(3),
    /**
     * Records of one partition applied in one database transaction. Larger batches commit (flush
     * the WAL) less often; a batch with any failing record is redone one record at a time.
     */
    CONSUMER_BATCH_SIZE: z.coerce.number().int().min(1).max(5000).default(500),
    /**
     * How often the consumer reads the topic list for a wanted topic that appeared since it started
     * (one metadata request each time); a new topic is read from its beginning either way.
     */
    CONSUMER_TOPIC_WATCH_MS: z.coerce.number().int().min(50).max(300_000).default(5000),
    /** `GET /health` (200 only while consuming or waiting for its topics); 0 turns it off. */
    CONSUMER_HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).default(3001),
    LOG_LEVEL: logLevel,
    /**
     * Once an event is dead-lettered, later events of its key wait behind it (parked) until a
     * redrive applies them in order; `false` applies them at once, out of order.
     */
    DLQ_KEEP_KEY_ORDER: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    INBOX_RETENTION: inboxRetention,
    INBOX_PRUNE_INTERVAL_MS: z.coerce.number().int().min(100).max(3_600_000).default(60_000),
    /** Clock skew allowed between the outbox's database and the inbox's, which the pruner keeps rows for. */
    INBOX_CLOCK_MARGIN_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
    /** Where the pruner reads the connector's committed position (the local stack's by default). */
    CONNECT_URL: httpUrl.optional(),
    CONNECTOR_NAME: connectorName,
    ...connectSecurityEnv,
  })
  .refine((c) => c.INBOX_RETENTION === null || c.CONNECT_URL !== undefined, {
    path: ['CONNECT_URL'],
    message:
      "is needed to prune the inbox (the pruner reads Connect's committed position); set it, or INBOX_RETENTION=off",
  })

export type ConsumerConfig = z.infer<typeof consumerEnvSchema>

export const retryPolicyOf = (config: ConsumerConfig) => ({
  maxAttempts: config.CONSUMER_RETRY_MAX_ATTEMPTS,
  baseDelayMs: config.CONSUMER_RETRY_BASE_MS,
  maxDelayMs: config.CONSUMER_RETRY_MAX_MS,
})

export const loadConsumerConfig = (
  source: Record<string, string | undefined> = process.env,
): ConsumerConfig => parseEnv(consumerEnvSchema, source, 'consumer')
