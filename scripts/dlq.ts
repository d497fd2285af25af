import { parseArgs } from 'node:util'
import {
  createKafka,
  type DeadLetter,
  listDeadLetters,
  parseBrokers,
  redriveDeadLetters,
  redriveGroupOf,
} from 'outbox-cdc'
import { loadConsumerConfig } from '../consumer/config.ts'
import { deadLetterTopic } from '../lib/events.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

const line = (l: DeadLetter) =>
  `${l.at ?? '?'}  ${l.errorCode ?? '?'}  ${l.eventType ?? '?'} ${l.eventId ?? '?'}  from ${l.original.topic}[${l.original.partition}]@${l.original.offset}` +
  `  after ${l.attempts ?? '?'} attempt(s): ${l.errorMessage ?? ''}`

/** `npm run dlq:list [-- --json]` and `npm run dlq:redrive [-- --dry-run]`. */
runCli(async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, 'dry-run': { type: 'boolean', default: false } },
  })
  const config = loadConsumerConfig(withLocalStackDefaults())
  const kafka = createKafka({ brokers: parseBrokers(config.KAFKA_BROKERS), clientId: 'outbox-cdc-dlq' })
  const topic = deadLetterTopic(config.TOPIC_NAMESPACE)

  if (positionals[0] === 'list') {
    const letters = await listDeadLetters(kafka, topic)
    if (values.json) console.log(JSON.stringify(letters, null, 2))
    else {
      for (const letter of letters) console.log(line(letter))
      console.log(`${letters.length} dead letter(s) in ${topic}`)
    }
    return 0
  }
  if (positionals[0] === 'redrive') {
    const dryRun = values['dry-run'] ?? false
    const sent = await redriveDeadLetters(kafka, topic, redriveGroupOf(config.CONSUMER_GROUP), {
      dryRun,
      onLetter: (letter) => console.log(`${dryRun ? 'would send' : 'sending'} ${line(letter)}`),
    })
    console.log(
      dryRun
        ? `${sent} dead letter(s) would be sent back`
        : `${sent} dead letter(s) sent back to their topics`,
    )
    return 0
  }
  console.error('usage: tsx scripts/dlq.ts <list [--json] | redrive [--dry-run]>')
  return 2
})
