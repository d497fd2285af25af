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

/** Keys Connect adds to a task's config itself: not the connector's settings. */
const connectTaskKeys = new Set(['task.class'])

/**
 * Every task runs `config` exactly: the same settings, none added or left over (Connect's own
 * task keys aside). Placeholders (`${file:…}`) are compared as written, which is how Connect
 * stores task configs. A task config that only holds the new settings is not enough: a fix that
 * removes a setting would look carried before Connect has rewritten it.
 */
export const tasksCarry = (tasks: Record<string, string>[], config: Record<string, string>) =>
  tasks.every((task) => {
    const keys = Object.keys(task).filter((key) => !connectTaskKeys.has(key))
    return keys.length === Object.keys(config).length && keys.every((key) => task[key] === config[key])
  })

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
    let gone = false
    const carried = await pollUntil(
      async () => {
        const tasks = await connect.taskConfigs(name)
        gone = tasks === undefined
        return gone || tasksCarry(tasks ?? [], config)
      },
      Math.min(15_000, options.waitTimeoutMs),
      200,
    )
    if (gone)
      throw new ConnectorError('NOT_FOUND', `connector ${name} was deleted while it was being registered`)
    report(
      carried
        ? 'restarting the connector and its FAILED task(s) with this config'
        : "restarting the connector and its FAILED task(s), though Connect has not yet given the tasks this config: a FAILED below may still be the previous config's",
    )
    await connect.restart(name)
    // The status shows the old FAILED for a moment after the restart is accepted: wait for the
    // restart to show, so a FAILED seen from here on is this config's own.
    await pollUntil(
      async () => !anyFailed(await connect.status(name)),
      Math.min(15_000, options.waitTimeoutMs),
      200,
    )
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
