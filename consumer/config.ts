import { z } from 'zod'
import { parseEnv } from '../lib/config.ts'
import { defaultTopicNamespace } from '../lib/events.ts'

export const consumerEnvSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  KAFKA_BROKERS: z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port…]'),
  CONSUMER_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/)
    .default('outbox-cdc-consumer'),
  TOPIC_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/)
    .default(defaultTopicNamespace),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(5),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export type ConsumerConfig = z.infer<typeof consumerEnvSchema>

export const loadConsumerConfig = (
  source: Record<string, string | undefined> = process.env,
): ConsumerConfig => parseEnv(consumerEnvSchema, source, 'consumer')
