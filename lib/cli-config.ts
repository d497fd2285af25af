import { type CliConfigInput, parseBrokers } from 'outbox-cdc'
import { connectorOptionsOf, provisionOptionsOf } from '../connector/config.ts'
import { loadDoctorSetup } from '../doctor/config.ts'
import { freshnessCheck } from '../doctor/freshness.ts'
import { sagaCheck } from '../doctor/saga.ts'
import { npmCommands, stackStatusHint } from './commands.ts'
import { connectSecurityOfEnv, kafkaSecurityOfEnv } from './config.ts'
import { consoleCliSection } from './console-config.ts'

/** The commands that send the connector's config to Connect, so need its password reference. */
const sendsConnectorConfig = (argv: readonly string[]) =>
  argv[0] === 'connector' && ['register', 'validate', 'diff'].includes(argv[1] ?? '')

/**
 * Stands in for CONNECTOR_DB_PASSWORD_REF in the commands that never send the connector's config
 * (slots, dlq, doctor…): they worked without it before they were the toolkit's CLI, and still do.
 */
const unsentPasswordRef = '${env:CONNECTOR_DB_PASSWORD_REF_UNSET}'

/**
 * The toolkit CLI's config for the bookstore, from the environment as every npm script reads it
 * (the same zod schemas as before): the npm run commands are the CLI, called with this.
 */
export function bookstoreCliConfig(
  env: Record<string, string | undefined>,
  argv: readonly string[] = [],
): CliConfigInput {
  const { connector: connectorEnv, targets } = loadDoctorSetup(
    sendsConnectorConfig(argv) ? env : { CONNECTOR_DB_PASSWORD_REF: unsentPasswordRef, ...env },
  )
  const provision = provisionOptionsOf(connectorEnv)
  return {
    postgres: {
      url: connectorEnv.DATABASE_URL,
      ...(env.DATABASE_ADMIN_URL ? { adminUrl: env.DATABASE_ADMIN_URL } : {}),
    },
    kafka: { brokers: parseBrokers(connectorEnv.KAFKA_BROKERS), ...kafkaSecurityOfEnv(env) },
    connect: { url: connectorEnv.CONNECT_URL, ...connectSecurityOfEnv(env) },
    connector: connectorOptionsOf(connectorEnv),
    topics: { ...provision.topics, aggregates: [...provision.topics.aggregates] },
    waitTimeoutMs: provision.waitTimeoutMs,
    consumer: { group: targets.consumerGroup, inbox: 'consumed_events' },
    doctor: {
      maxSlotRetainedBytes: targets.maxSlotRetainedBytes,
      maxConsumerLag: targets.maxConsumerLag,
      staleAfterS: targets.staleAfterS,
      consumers: targets.consumers,
      checks: [freshnessCheck, sagaCheck],
      targets: {
        consumerGroup: targets.consumerGroup,
        ...(targets.fulfilmentGroup ? { fulfilmentGroup: targets.fulfilmentGroup } : {}),
        outboxTables: targets.outboxTables,
      },
    },
    // Parsed only for the console: a bad CONSOLE_PORT must not stop dlq:list.
    ...(argv[0] === 'console' ? { console: consoleCliSection(env) } : {}),
    commands: npmCommands,
    reachHint: stackStatusHint,
  }
}
