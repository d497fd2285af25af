import { buildConnectorConfig, loadConnectorConfig } from '../connector/config.ts'
import { ConnectorError } from '../connector/errors.ts'
import { describeStatus, registerConnector } from '../connector/register.ts'
import { ensureEventTopics } from '../connector/topics.ts'
import { createConnectClient } from '../lib/connect-client.ts'
import { createKafka, parseBrokers } from '../lib/kafka.ts'
import { runCli } from './cli.ts'
import { withLocalStackDefaults } from './local-env.ts'

/** `npm run connector:<command>`: register, status, restart, delete. */
const commands: Record<string, () => Promise<number>> = {
  async register() {
    const env = loadConnectorConfig(withLocalStackDefaults())
    const connect = createConnectClient(env.CONNECT_URL)
    const admin = createKafka({
      brokers: parseBrokers(env.KAFKA_BROKERS),
      clientId: 'outbox-cdc-register',
    }).admin()
    await admin.connect()
    try {
      for (const topic of await ensureEventTopics(admin, env.TOPIC_NAMESPACE, env.TOPIC_PARTITIONS)) {
        console.log(
          `topic ${topic.topic}: ${topic.partitions} partitions${topic.created ? ' (created)' : ''}`,
        )
      }
    } finally {
      await admin.disconnect()
    }
    const status = await registerConnector(connect, env, (line) => console.log(line))
    for (const line of describeStatus(status)) console.log(line)
    return 0
  },
  async status() {
    const env = loadConnectorConfig(withLocalStackDefaults())
    const status = await createConnectClient(env.CONNECT_URL).status(env.CONNECTOR_NAME)
    if (!status)
      throw new ConnectorError(
        'NOT_FOUND',
        `No connector named ${env.CONNECTOR_NAME}; run npm run connector:register.`,
      )
    for (const line of describeStatus(status)) console.log(line)
    for (const part of [status.connector, ...status.tasks]) if (part.trace) console.log(part.trace)
    const healthy = [status.connector, ...status.tasks].every((part) => part.state === 'RUNNING')
    return healthy ? 0 : 1
  },
  async restart() {
    const env = loadConnectorConfig(withLocalStackDefaults())
    await createConnectClient(env.CONNECT_URL).restart(env.CONNECTOR_NAME)
    console.log(`restart requested for ${env.CONNECTOR_NAME} and its tasks`)
    return 0
  },
  async delete() {
    const env = loadConnectorConfig(withLocalStackDefaults())
    const existed = await createConnectClient(env.CONNECT_URL).remove(env.CONNECTOR_NAME)
    console.log(
      existed ? `deleted connector ${env.CONNECTOR_NAME}` : `no connector named ${env.CONNECTOR_NAME}`,
    )
    console.log(
      `Its replication slot ${buildConnectorConfig(env)['slot.name']} still exists and keeps WAL until dropped.`,
    )
    return 0
  },
}

runCli(async () => {
  const name = process.argv[2] ?? ''
  const command = commands[name]
  if (!command) {
    console.error(`usage: tsx scripts/connector.ts <${Object.keys(commands).join('|')}>`)
    return 2
  }
  return command()
})
