import {
  CodedError,
  type ConnectSecurityInput,
  connectSecurityFromEnv,
  type KafkaSecurityInput,
  kafkaSecurityFromEnv,
  OptionsError,
} from 'outbox-cdc'
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

const optional = z.string().min(1).optional()

/**
 * A secured Kafka (see docs/secured-clusters.md): KAFKA_TLS, KAFKA_CA_FILE, KAFKA_CERT_FILE,
 * KAFKA_KEY_FILE, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, and the password by reference:
 * KAFKA_SASL_PASSWORD_FILE, or KAFKA_SASL_PASSWORD read from the process's own environment.
 */
export const kafkaSecurityEnv = {
  KAFKA_TLS: optional,
  KAFKA_CA_FILE: optional,
  KAFKA_CERT_FILE: optional,
  KAFKA_KEY_FILE: optional,
  KAFKA_SASL_MECHANISM: optional,
  KAFKA_SASL_USERNAME: optional,
  KAFKA_SASL_PASSWORD_FILE: optional,
}

/** Connect behind basic auth or TLS: CONNECT_USERNAME with CONNECT_PASSWORD_FILE (or CONNECT_PASSWORD), CONNECT_CA_FILE… */
export const connectSecurityEnv = {
  CONNECT_USERNAME: optional,
  CONNECT_PASSWORD_FILE: optional,
  CONNECT_CA_FILE: optional,
  CONNECT_CERT_FILE: optional,
  CONNECT_KEY_FILE: optional,
}

const asConfigError = <T>(read: () => T): T => {
  try {
    return read()
  } catch (error) {
    if (error instanceof OptionsError) throw new ConfigError(error.message)
    throw error
  }
}

/** The toolkit's Kafka security from the variables above; undefined when none is set. */
export const kafkaSecurityOfEnv = (
  env: Partial<Record<keyof typeof kafkaSecurityEnv, string>> | NodeJS.ProcessEnv,
): KafkaSecurityInput | undefined => asConfigError(() => kafkaSecurityFromEnv({ ...process.env, ...env }, ''))

export const connectSecurityOfEnv = (
  env: Partial<Record<keyof typeof connectSecurityEnv, string>> | NodeJS.ProcessEnv,
): ConnectSecurityInput | undefined =>
  asConfigError(() => connectSecurityFromEnv({ ...process.env, ...env }, ''))

/** LOG_LEVEL: pino's levels. */
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')

const durationUnits = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/**
 * A length of time as people write it in an environment: `14d`, `36h`, `90s`, `500ms`, or bare
 * milliseconds. Kept to whole numbers and one unit, so `1.5d` or `1d12h` are refused, not guessed.
 */
export const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'must be a whole number of ms, or one with a unit: 500ms, 90s, 15m, 36h, 14d')
  .transform((text) => {
    const [, amount = '0', unit = 'ms'] = /^(\d+)(ms|s|m|h|d)?$/.exec(text) ?? []
    return Number(amount) * durationUnits[unit as keyof typeof durationUnits]
  })

/**
 * INBOX_RETENTION: inbox rows younger than this are never deleted; older ones go once no path can
 * bring their event back (docs/consumer.md). `off` keeps every row for ever (null).
 */
export const inboxRetention = z
  .union([z.literal('off'), duration])
  .default(duration.parse('7d'))
  .transform((v) => (v === 'off' ? null : v))
