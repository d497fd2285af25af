import type { ConnectClient, ConnectorStatus } from '../lib/connect-client.ts'
import { debeziumPostgresClass } from '../lib/connect-client.ts'
import type { ConnectorEnv } from './config.ts'
import { buildConnectorConfig } from './config.ts'
import { ConnectorError } from './errors.ts'

/** Connect's field errors as `field: message` lines; empty when it accepts the config. */
export async function validateConnector(
  connect: ConnectClient,
  config: Record<string, string>,
): Promise<string[]> {
  const validation = await connect.validate(debeziumPostgresClass, config)
  return validation.configs.flatMap((entry) =>
    entry.value.errors.map((error) => `${entry.value.name}: ${error}`),
  )
}

/**
 * Validates the outbox connector's config with Connect, creates or updates it (a PUT, so running
 * it twice is harmless), then waits until the connector and its task run. A FAILED task fails
 * with its stack trace; nothing is submitted when validation finds errors.
 */
export async function registerConnector(
  connect: ConnectClient,
  env: ConnectorEnv,
  report: (line: string) => void,
): Promise<ConnectorStatus> {
  const config = buildConnectorConfig(env)
  const errors = await validateConnector(connect, config)
  if (errors.length > 0) {
    throw new ConnectorError(
      'CONFIG_REJECTED',
      `Connect rejected the connector config:\n  ${errors.join('\n  ')}`,
    )
  }
  report('Connect accepts the config')
  const { created } = await connect.putConfig(env.CONNECTOR_NAME, config)
  report(`${created ? 'created' : 'updated'} connector ${env.CONNECTOR_NAME}`)
  return connect.waitForState(env.CONNECTOR_NAME, 'RUNNING', env.CONNECTOR_WAIT_TIMEOUT_S * 1000)
}

/** One line per part, for people: `connector RUNNING on …`, `task 0 RUNNING on …`. */
export function describeStatus(status: ConnectorStatus): string[] {
  return [
    `connector ${status.name}: ${status.connector.state} on ${status.connector.worker_id}`,
    ...status.tasks.map((task) => `  task ${task.id}: ${task.state} on ${task.worker_id}`),
  ]
}
