import { outboxConnectorConfig } from '../connector/config.ts'
import { isRunning } from '../connector/connect-client.ts'
import { deleteConnector } from '../connector/delete.ts'
import { diffConnectorConfig, formatChange } from '../connector/diff.ts'
import { ConnectorError } from '../connector/errors.ts'
import { provisionConnector } from '../connector/provision.ts'
import { describeStatus, validateConnector } from '../connector/register.ts'
import { connectOf as connectOfConfig, kafkaOf } from './clients.ts'
import { provisionOptionsOf } from './config.ts'
import { type CliContext, type Command, flagsOf } from './context.ts'

const connectOf = ({ config }: CliContext) => connectOfConfig(config)
const nameOf = ({ config }: CliContext) => config.connector.name

/** Pauses, stops or resumes, then waits until the connector and its tasks report `state`. */
function setState(action: 'pause' | 'stop' | 'resume', state: 'PAUSED' | 'STOPPED' | 'RUNNING'): Command {
  return async (c) => {
    flagsOf(c.args, {})
    const connect = connectOf(c)
    const name = nameOf(c)
    if (!(await connect.status(name))) throw new ConnectorError('NOT_FOUND', `No connector named ${name}.`)
    await connect[action](name)
    const status = await connect.waitForState(name, state, c.config.waitTimeoutMs)
    for (const line of describeStatus(status)) c.out(line)
    return 0
  }
}

/** `connector <register|status|…>`: the outbox connector the config describes. */
export const connectorCommands: Record<string, Command> = {
  /** Creates the event topics and the dead-letter topic, registers, and waits for RUNNING. */
  async register(c) {
    flagsOf(c.args, {})
    const admin = kafkaOf(c.config, 'outbox-cdc-register').admin()
    await admin.connect()
    try {
      await provisionConnector(admin, connectOf(c), provisionOptionsOf(c.config), c.out)
    } finally {
      await admin.disconnect()
    }
    return 0
  },
  /** Exit 0 only when the connector and every task run; a FAILED part prints its trace. */
  async status(c) {
    flagsOf(c.args, {})
    const status = await connectOf(c).status(nameOf(c))
    if (!status)
      throw new ConnectorError(
        'NOT_FOUND',
        `No connector named ${nameOf(c)}; run ${c.cmd('connector register')}.`,
      )
    for (const line of describeStatus(status)) c.out(line)
    for (const part of [status.connector, ...status.tasks]) if (part.trace) c.out(part.trace)
    return isRunning(status) ? 0 : 1
  },
  async restart(c) {
    flagsOf(c.args, {})
    await connectOf(c).restart(nameOf(c))
    c.out(`restart requested for ${nameOf(c)} and its tasks`)
    return 0
  },
  /** Deletes the connector; `--drop-slot` its slot too, counting first what that would lose. */
  async delete(c) {
    const { values } = flagsOf(c.args, { 'drop-slot': { type: 'boolean' }, yes: { type: 'boolean' } })
    const dropSlot = values['drop-slot'] ?? false
    const { connector, postgres } = c.config
    const result = await deleteConnector(
      connectOf(c),
      postgres.adminUrl ?? postgres.url,
      {
        connectorName: connector.name,
        slotName: connector.slot,
        publication: connector.publication,
        heartbeatTable: connector.heartbeat?.table ?? '',
        dropSlot,
        confirm: values.yes ?? false,
      },
      c.out,
    )
    if (!dropSlot && result.connectorExisted)
      c.out(
        `Its replication slot ${connector.slot} still exists and keeps WAL until dropped (--drop-slot does that).`,
      )
    return 0
  },
  pause: setState('pause', 'PAUSED'),
  /** Unlike pause, stop ends the task and its replication connection: the slot is free to advance. */
  stop: setState('stop', 'STOPPED'),
  /** Runs a paused or a stopped connector again. */
  resume: setState('resume', 'RUNNING'),
  async validate(c) {
    flagsOf(c.args, {})
    const errors = await validateConnector(connectOf(c), outboxConnectorConfig(c.config.connector))
    if (errors.length === 0) c.out(`Connect accepts the config of ${nameOf(c)}`)
    for (const error of errors) c.out(`  ${error}`)
    return errors.length === 0 ? 0 : 1
  },
  /** What register would change, key by key; exit 1 when anything would. */
  async diff(c) {
    flagsOf(c.args, {})
    const running = await connectOf(c).getConfig(nameOf(c))
    if (!running)
      throw new ConnectorError('NOT_FOUND', `No connector named ${nameOf(c)}; register would create it.`)
    const changes = diffConnectorConfig(outboxConnectorConfig(c.config.connector), running)
    for (const change of changes) c.out(formatChange(change))
    c.out(
      changes.length === 0
        ? 'no differences'
        : `${changes.length} difference(s); ${c.cmd('connector register')} applies them`,
    )
    return changes.length === 0 ? 0 : 1
  },
}
