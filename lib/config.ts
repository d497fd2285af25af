import { CodedError } from 'outbox-cdc'
import { z } from 'zod'
import { defaultTopicNamespace } from './events.ts'

export class ConfigError extends CodedError<'CONFIG_INVALID'> {
  constructor(message: string) {
    super('CONFIG_INVALID', message)
  }
}

/**
 * Parses an entry point's environment once, through its zod schema, and fails listing every
 * problem at once (not just the first), each with the variable's name.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
  what: string,
): z.infer<S> {
  const parsed = schema.safeParse(source)
  if (parsed.success) return parsed.data
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`)
  throw new ConfigError(`Invalid ${what} configuration:\n${lines.join('\n')}`)
}

/*
 * The pieces every entry point's schema is built from, so a variable read by several of them
 * (DATABASE_URL, KAFKA_BROKERS, TOPIC_NAMESPACE…) is checked, and defaulted, the same way in each.
 */

/** A Postgres connection URL: `postgres://` or `postgresql://`. */
export const postgresUrl = z.url({ protocol: /^postgres(ql)?$/ })

/** An http(s) URL, such as Kafka Connect's REST API (CONNECT_URL). */
export const httpUrl = z.url({ protocol: /^https?$/ })

/** A `true`/`false` setting, false when unset; anything else is refused (`yes`, `1`: ambiguous). */
export const flag = z
  .enum(['true', 'false'])
  .default('false')
  .transform((v) => v === 'true')

/** KAFKA_BROKERS: `host:port[,host:port…]`, as `parseBrokers` splits it. */
export const kafkaBrokers = z.string().regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'must be host:port[,host:port…]')

/** TOPIC_NAMESPACE: event topics are `<namespace>.<aggregate>`, dead letters `<namespace>-dlq`. */
export const topicNamespace = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/)
  .default(defaultTopicNamespace)

export const defaultConsumerGroup = 'outbox-cdc-consumer'

/** CONSUMER_GROUP: the consumer's Kafka group, whose lag the doctor reads. */
export const consumerGroup = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,200}$/)
  .default(defaultConsumerGroup)

export const defaultConnectorName = 'outbox-connector'

/** CONNECTOR_NAME: the Debezium connector's name in Kafka Connect. */
export const connectorName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/)
  .default(defaultConnectorName)

/** LOG_LEVEL: pino's levels. */
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
