import { parseArgs } from 'node:util'
import { createKafka, parseBrokers } from 'outbox-cdc'
import { z } from 'zod'
import { startEventTail, type TailedEvent } from '../console/event-tail.ts'
import { matches } from '../console/recent-events.ts'
import { kafkaBrokers, parseEnv, topicNamespace } from '../lib/config.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

const usage =
  'usage: npm run events:tail [-- --from-beginning] [--type <event_type>] [--key <aggregate id>] [--json]'

/** The prefix of the group the tail reads through while it runs (deleted when it stops). */
export const eventsTailGroupPrefix = 'outbox-cdc-events-tail-'

const tailEnv = z.object({ KAFKA_BROKERS: kafkaBrokers, TOPIC_NAMESPACE: topicNamespace })

const line = (e: TailedEvent) =>
  `${e.at}  ${e.topic}[${e.partition}]@${e.offset}  key=${e.key ?? '-'}  ${e.eventType ?? '?'}  ${e.eventId ?? '?'}\n` +
  `${JSON.stringify(e.payload, null, 2)}\n`

/**
 * `npm run events:tail`: prints the events of every event topic as they arrive (with
 * `--from-beginning`, every one still kept first), filtered by exact type and key. Ctrl-C stops it
 * and deletes the consumer group it read through.
 */
runCli(async () => {
  let parsed: ReturnType<typeof parseTailArgs>
  try {
    parsed = parseTailArgs()
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`)
    return 2
  }
  const { values } = parsed
  const env = parseEnv(tailEnv, withLocalStackDefaults(), 'events:tail')
  const kafka = createKafka({ brokers: parseBrokers(env.KAFKA_BROKERS), clientId: 'outbox-cdc-events-tail' })
  const filter = { type: values.type, key: values.key }
  let shown = 0
  const tail = startEventTail({
    kafka,
    namespace: env.TOPIC_NAMESPACE,
    fromBeginning: values['from-beginning'] ?? false,
    groupPrefix: eventsTailGroupPrefix,
    onEvent: (event) => {
      if (!matches(event, filter)) return
      shown += 1
      process.stdout.write(values.json ? `${JSON.stringify(event)}\n` : line(event))
    },
    onError: (error) => console.error(`Kafka: ${(error as Error).message} (trying again)`),
    onTopics: (topics) => {
      if (values.json) return
      console.error(
        topics.length > 0
          ? `reading ${topics.join(', ')}`
          : `no ${env.TOPIC_NAMESPACE}.* topic yet: waiting for one (it is read from its first event)`,
      )
    },
  })
  if (!values.json)
    console.error(
      `Following ${env.TOPIC_NAMESPACE}.* ${values['from-beginning'] ? 'from the beginning' : 'from now on'}; Ctrl-C stops.`,
    )
  // Every signal is caught, not just the first: a terminal's Ctrl-C can arrive twice (from the
  // terminal and relayed by a parent), and one with no listener would end the process before
  // its group is deleted. Later ones only say that the stop is under way.
  await new Promise<void>((resolve) => {
    let stopping = false
    const onSignal = () => {
      if (stopping) return void console.error('stopping: deleting the consumer group first …')
      stopping = true
      resolve()
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  await tail.stop()
  if (!values.json) console.error(`\n${shown} event(s) shown; no consumer group left behind.`)
  return 0
})

function parseTailArgs() {
  return parseArgs({
    options: {
      'from-beginning': { type: 'boolean', default: false },
      type: { type: 'string' },
      key: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
}
