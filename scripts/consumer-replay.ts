import { parseArgs } from 'node:util'
import { createKafka, parseBrokers, parseReplayFrom, replayGroup } from 'outbox-cdc'
import { loadConsumerConfig } from '../consumer/config.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

/** `npm run consumer:replay -- --from <beginning|ISO timestamp|offset>` for CONSUMER_GROUP. */
runCli(async () => {
  const { values } = parseArgs({ options: { from: { type: 'string' } } })
  const from = parseReplayFrom(values.from)
  const config = loadConsumerConfig(withLocalStackDefaults())
  const kafka = createKafka({ brokers: parseBrokers(config.KAFKA_BROKERS), clientId: 'outbox-cdc-replay' })
  const moved = await replayGroup(kafka, config.CONSUMER_GROUP, config.TOPIC_NAMESPACE, from)
  for (const m of moved) console.log(`${m.topic}[${m.partition}] → offset ${m.offset}`)
  console.log(
    `group ${config.CONSUMER_GROUP} will re-read from there; the inbox skips what it already applied`,
  )
  return 0
})
