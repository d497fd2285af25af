import type { Admin } from 'kafkajs'
import { deadLetterTopic } from '../lib/events.ts'
import { type Finding, finding } from './finding.ts'

/** A warning while `<namespace>-dlq` holds any record; `allTopics` tells whether it exists yet. */
export async function deadLettersFinding(
  admin: Admin,
  allTopics: string[],
  namespace: string,
): Promise<Finding> {
  const dlq = deadLetterTopic(namespace)
  const depth = allTopics.includes(dlq)
    ? (await admin.fetchTopicOffsets(dlq)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
    : 0
  return depth > 0
    ? finding(
        'consumer.dead-letters',
        'warn',
        `${depth} dead letter(s) in ${dlq}`,
        'npm run dlq:list, fix the cause, npm run dlq:redrive',
        { depth },
      )
    : finding('consumer.dead-letters', 'ok', `none in ${dlq}`, undefined, { depth })
}
