import {
  ConnectorError,
  createConnectClient,
  createKafka,
  deleteConnector,
  describeStatus,
  diffConnectorConfig,
  formatChange,
  isRunning,
  parseBrokers,
  provisionConnector,
  validateConnector,
} from 'outbox-cdc'
import {
  buildConnectorConfig,
  type ConnectorEnv,
  loadConnectorConfig,
  provisionOptionsOf,
} from '../connector/config.ts'
import { heartbeatTable } from '../lib/replication.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { hasFlag, runCli } from './cli.ts'

/** The environment as given, with the local stack's defaults, and the connector config parsed from it. */
interface Loaded {
  env: ConnectorEnv
  source: Record<string, string | undefined>
}

/** `npm run connector:<command>`: register, status, restart, delete, pause, stop, resume, validate, diff. */
const commands: Record<string, (loaded: Loaded) => Promise<number>> = {
  async register({ env }) {
    const admin = createKafka({
      brokers: parseBrokers(env.KAFKA_BROKERS),
      clientId: 'outbox-cdc-register',
    }).admin()
    await admin.connect()
    try {
      await provisionConnector(admin, createConnectClient(env.CONNECT_URL), provisionOptionsOf(env), (line) =>
        console.log(line),
      )
    } finally {
      await admin.disconnect()
    }
    return 0
  },
  async status({ env }) {
    const status = await createConnectClient(env.CONNECT_URL).status(env.CONNECTOR_NAME)
    if (!status)
      throw new ConnectorError(
        'NOT_FOUND',
        `No connector named ${env.CONNECTOR_NAME}; run npm run connector:register.`,
      )
    for (const line of describeStatus(status)) console.log(line)
    for (const part of [status.connector, ...status.tasks]) if (part.trace) console.log(part.trace)
    return isRunning(status) ? 0 : 1
  },
  async restart({ env }) {
    await createConnectClient(env.CONNECT_URL).restart(env.CONNECTOR_NAME)
    console.log(`restart requested for ${env.CONNECTOR_NAME} and its tasks`)
    return 0
  },
  async delete({ env, source }) {
    const dropSlot = hasFlag('--drop-slot')
    const result = await deleteConnector(
      createConnectClient(env.CONNECT_URL),
      adminUrl(source),
      {
        connectorName: env.CONNECTOR_NAME,
        slotName: env.CONNECTOR_SLOT_NAME,
        publication: env.CONNECTOR_PUBLICATION,
        heartbeatTable,
        dropSlot,
        confirm: hasFlag('--yes'),
      },
      (line) => console.log(line),
    )
    if (!dropSlot && result.connectorExisted)
      console.log(
        `Its replication slot ${env.CONNECTOR_SLOT_NAME} still exists and keeps WAL until dropped (--drop-slot does that).`,
      )
    return 0
  },
  async pause({ env }) {
    return setState(env, 'pause', 'PAUSED')
  },
  /** Unlike pause, stop ends the task and its replication connection: the slot is free to advance. */
  async stop({ env }) {
    return setState(env, 'stop', 'STOPPED')
  },
  /** Runs a paused or a stopped connector again. */
  async resume({ env }) {
    return setState(env, 'resume', 'RUNNING')
  },
  async validate({ env }) {
    const errors = await validateConnector(createConnectClient(env.CONNECT_URL), buildConnectorConfig(env))
    if (errors.length === 0) console.log(`Connect accepts the config of ${env.CONNECTOR_NAME}`)
    for (const error of errors) console.log(`  ${error}`)
    return errors.length === 0 ? 0 : 1
  },
  async diff({ env }) {
    const running = await createConnectClient(env.CONNECT_URL).getConfig(env.CONNECTOR_NAME)
    if (!running)
      throw new ConnectorError(
        'NOT_FOUND',
        `No connector named ${env.CONNECTOR_NAME}; register would create it.`,
      )
    const changes = diffConnectorConfig(buildConnectorConfig(env), running)
    for (const change of changes) console.log(formatChange(change))
    console.log(
      changes.length === 0
        ? 'no differences'
        : `${changes.length} difference(s); npm run connector:register applies them`,
    )
    return changes.length === 0 ? 0 : 1
  },
}

function adminUrl(source: Record<string, string | undefined>) {
  const url = source.DATABASE_ADMIN_URL ?? source.DATABASE_URL
  if (!url) throw new Error('set DATABASE_ADMIN_URL to a role that may drop replication slots')
  return url
}

/** Pauses, stops or resumes, then waits until the connector and its tasks report `state`. */
async function setState(
  env: ConnectorEnv,
  action: 'pause' | 'stop' | 'resume',
  state: 'PAUSED' | 'STOPPED' | 'RUNNING',
) {
  const connect = createConnectClient(env.CONNECT_URL)
  if (!(await connect.status(env.CONNECTOR_NAME)))
    throw new ConnectorError('NOT_FOUND', `No connector named ${env.CONNECTOR_NAME}.`)
  await connect[action](env.CONNECTOR_NAME)
  const status = await connect.waitForState(env.CONNECTOR_NAME, state, env.CONNECTOR_WAIT_TIMEOUT_S * 1000)
  for (const line of describeStatus(status)) console.log(line)
  return 0
}

runCli(async () => {
  const name = process.argv[2] ?? ''
  const command = commands[name]
  if (!command) {
    console.error(`usage: tsx scripts/connector.ts <${Object.keys(commands).join('|')}>`)
    return 2
  }
  const source = withLocalStackDefaults()
  return command({ env: loadConnectorConfig(source), source })
})
