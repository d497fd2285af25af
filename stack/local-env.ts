import { join } from 'node:path'
import { connectorPasswordKey, connectorSecretsFile } from '../lib/replication.ts'
import { loadStackConfig } from './lib/config.ts'
import { secureEnvDefaults } from './lib/secure.ts'
import { liveConnectUrl, stackInfo } from './lib/stack.ts'

/**
 * The environment with the local stack's connection settings filled in where the caller set
 * none, so every entry point (`npm run api`, `npm run consumer`, `db:migrate`,
 * `connector:register`…) works right after `stack:up`, and any variable set explicitly (an
 * existing server, Docker) still wins. Each entry point passes this to its config loader.
 */
export function withLocalStackDefaults(
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string | undefined> {
  const config = loadStackConfig(env)
  const info = stackInfo(config)
  const defaults: Record<string, string> = {
    DATABASE_URL: info.postgres.url,
    DATABASE_ADMIN_URL: info.postgres.adminUrl,
    KAFKA_BROKERS: info.kafka.brokers.join(','),
    CONNECT_URL: liveConnectUrl(config),
  }
  // The connector asks for exactly-once delivery when the stack's workers were started with it.
  if (config.managed.connect) defaults.CONNECTOR_EXACTLY_ONCE = String(config.env.CONNECTOR_EXACTLY_ONCE)
  // With a standby, the connector's slot is a failover slot, which the standby keeps a copy of.
  if (config.managed.postgres && config.env.STACK_POSTGRES_STANDBY) defaults.CONNECTOR_SLOT_FAILOVER = 'true'
  // The secured stack's CA, users and password files (never the passwords themselves).
  if (config.managed.kafka && config.managed.connect) Object.assign(defaults, secureEnvDefaults(config))
  if (config.managed.postgres && config.managed.connect) {
    defaults.CONNECTOR_DB_PASSWORD_REF = `\${file:${join(config.secretsDir, connectorSecretsFile)}:${connectorPasswordKey}}`
  }
  return { ...defaults, ...definedOnly(env) }
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  )
}
