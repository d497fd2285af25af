import type { KafkaConfig } from 'kafkajs'
import { type ConnectClientOptions, createConnectClient } from '../connector/connect-client.ts'
import { createKafka } from '../kafka/client.ts'
import type { ConnectSecurityInput } from '../security/connect.ts'
import type { KafkaSecurityInput } from '../security/kafka.ts'
import type { CliConfig } from './config.ts'

/** The config's Kafka TLS and SASL, as createKafka takes them: every command's clients share them. */
export function kafkaSecurityOf(config: CliConfig): KafkaSecurityInput {
  const { tls, sasl, allowPlainWithoutTls } = config.kafka
  return { ...(tls ? { tls } : {}), ...(sasl ? { sasl } : {}), allowPlainWithoutTls }
}

export function connectSecurityOf(config: CliConfig): ConnectSecurityInput {
  const { auth, tls } = config.connect
  return { ...(auth ? { auth } : {}), ...(tls ? { tls } : {}) }
}

/** A Kafka client of the config's cluster, as `clientId`. */
export const kafkaOf = (
  config: CliConfig,
  clientId: string,
  extra: Omit<Partial<KafkaConfig>, 'brokers'> = {},
) => createKafka({ brokers: config.kafka.brokers, clientId, security: kafkaSecurityOf(config), ...extra })

/** The config's Connect cluster, its auth and TLS included. */
export const connectOf = (
  config: CliConfig,
  timeoutMs = config.connect.timeoutMs,
  options: Omit<ConnectClientOptions, 'security'> = {},
) => createConnectClient(config.connect.url, timeoutMs, { ...options, security: connectSecurityOf(config) })
