import { setTimeout as delay } from 'node:timers/promises'
import type { ConnectClient, ConnectorStatus } from './connect-client.ts'
import { debeziumPostgresClass } from './connect-client.ts'
import { ConnectorError } from './errors.ts'
import { pollUntil } from './poll.ts'

/** Connect's field errors as `field: message` lines; empty when it accepts the config. */
export async function validateConnector(
  connect: ConnectClient,
  config: Record<string, string>,
): Promise<string[]> {
  const validation = await connect.validate(config['connector.class'] ?? debeziumPostgresClass, config)
  return validation.configs.flatMap((entry) =>
    entry.value.errors.map((error) => `${entry.value.name}: ${error}`),
  )
}

/**
 * Every task's config holds `config`'s settings. Those given through a config provider
 * (`${file:…}`) are left out of the comparison: a task's copy may hold them resolved.
 */
export const tasksCarry = (tasks: Record<string, string>[] | undefined, config: Record<string, string>) =>
  (tasks ?? []).every((task) =>
    Object.entries(config).every(([key, value]) => value.includes('${') || task[key] === value),
  )

const anyFailed = (status: ConnectorStatus | undefined) =>
  status !== undefined && [status.connector, ...status.tasks].some((part) => part.state === 'FAILED')

export interface RegisterOptions {
  /** How long to wait for the connector and its task to run. */
  waitTimeoutMs: number
  /** What to tell an operator who finds the connector STOPPED or PAUSED (the command that resumes it). */
  resumeHint?: string
}

/**
 * Validates a connector config (`config.name` names it) with Connect, creates or updates it (a
 * PUT, so running it twice is harmless), then waits until the connector and its task run. A
 * FAILED task fails with its stack trace; nothing is submitted when validation finds errors. A
 * connector found STOPPED or PAUSED gets the config but stays so: CONNECTOR_STOPPED /
 * CONNECTOR_PAUSED at once.
 */
export async function registerConnector(
  connect: ConnectClient,
  config: Record<string, string>,
  options: RegisterOptions,
  report: (line: string) => void,
): Promise<ConnectorStatus> {
  const name = config.name
  if (!name) throw new ConnectorError('CONFIG_REJECTED', 'the connector config has no name')
  const errors = await validateConnector(connect, config)
  if (errors.length > 0) {
    throw new ConnectorError(
      'CONFIG_REJECTED',
      `Connect rejected the connector config:\n  ${errors.join('\n  ')}`,
    )
  }
  report('Connect accepts the config')
  const before = await connect.status(name)
  const { created } = await connect.putConfig(name, config)
  report(`${created ? 'created' : 'updated'} connector ${name}`)
  // An operator stopped or paused it on purpose (to advance its slot, say): resuming it here would
  // undo that unasked, and waiting for RUNNING would only time out. The config is put either way.
  const halted = before?.connector.state
  if (halted === 'STOPPED' || halted === 'PAUSED') {
    throw new ConnectorError(
      `CONNECTOR_${halted}`,
      `connector ${name} is ${halted}, so it was left ${halted} with this config; ` +
        `${options.resumeHint ?? 'resume it'} when it should deliver again`,
    )
  }
  // A FAILED part stays FAILED through a config update (Connect does not restart it): a start
  // that failed, then fixed and registered again, would report the old trace for ever.
  if (anyFailed(before)) {
    // Connect makes the tasks' configs from the new one a moment after the PUT: a restart before
    // then starts the task on the old config, which fails as before, and that FAILED would be
    // taken for this config's. Not seen in time, the restart goes ahead, as it did before.
    await pollUntil(async () => tasksCarry(await connect.taskConfigs(name), config), 15_000, 200)
    report('restarting the connector and its FAILED task(s) with this config')
    await connect.restart(name)
    // The status shows the old FAILED for a moment after the restart is accepted: wait for the
    // restart to show, so a FAILED seen from here on is this config's own.
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && anyFailed(await connect.status(name))) await delay(200)
  }
  return connect.waitForState(name, 'RUNNING', options.waitTimeoutMs)
}

/** One line per part, for people: `connector RUNNING on …`, `task 0 RUNNING on …`. */
export function describeStatus(status: ConnectorStatus): string[] {
  return [
    `connector ${status.name}: ${status.connector.state} on ${status.connector.worker_id}`,
    ...status.tasks.map((task) => `  task ${task.id}: ${task.state} on ${task.worker_id}`),
  ]
}
