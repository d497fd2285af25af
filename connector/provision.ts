import type { Admin } from 'kafkajs'
import type { ConnectClient, ConnectorStatus } from '../lib/connect-client.ts'
import { deadLetterTopicSettingsOf } from '../lib/dead-letter-topic.ts'
import type { ConnectorEnv } from './config.ts'
import { describeStatus, registerConnector } from './register.ts'
import { ensureEventTopics } from './topics.ts'

/**
 * Everything the outbox connector needs before events flow, in the order it needs it: the event
 * topics and the dead-letter topic (with the partitions and retention `env` asks for), then the
 * connector registered and RUNNING with its tasks. Safe to run again: existing topics are kept,
 * and the registration is a PUT. `kafkaAdmin` must be connected; the caller owns it.
 * Reports one line per topic and per connector part through `log`.
 */
export async function provisionConnector(
  kafkaAdmin: Admin,
  connect: ConnectClient,
  env: ConnectorEnv,
  log: (line: string) => void,
): Promise<ConnectorStatus> {
  const topics = await ensureEventTopics(
    kafkaAdmin,
    env.TOPIC_NAMESPACE,
    env.TOPIC_PARTITIONS,
    deadLetterTopicSettingsOf(env),
  )
  for (const topic of topics) {
    log(`topic ${topic.topic}: ${topic.partitions} partitions${topic.created ? ' (created)' : ''}`)
  }
  const status = await registerConnector(connect, env, log)
  for (const line of describeStatus(status)) log(line)
  return status
}
