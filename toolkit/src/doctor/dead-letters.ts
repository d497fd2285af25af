import type { Admin } from 'kafkajs'
import { cliCommands } from '../operations.ts'
import type { DoctorTargets } from './check.ts'
import { type Finding, finding } from './finding.ts'

/** The group `dlq redrive` records its progress in, by default: the consumer group's, suffixed. */
export const redriveGroupOf = (consumerGroup: string) => `${consumerGroup}-dlq-redrive`

/**
 * A warning while the dead-letter topic holds dead letters not yet redriven: those past the redrive
 * group's committed offsets. Redriven letters stay in the topic until its retention ends, so the
 * topic's depth alone would warn for days after everything was sent back. `allTopics` tells
 * whether the topic exists yet.
 */
export async function deadLettersFinding(
  admin: Admin,
  allTopics: string[],
  t: Pick<DoctorTargets, 'deadLetters' | 'commands'>,
): Promise<Finding> {
  const { topic: dlq, redriveGroup } = t.deadLetters
  const cmd = t.commands ?? cliCommands
  let kept = 0
  let waiting = 0
  if (allTopics.includes(dlq)) {
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(dlq),
      admin.fetchOffsets({ groupId: redriveGroup, topics: [dlq] }),
    ])
    const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
    for (const { partition, high, low } of ends) {
      kept += Number(high) - Number(low)
      waiting += Number(high) - Math.max(done.get(partition) ?? -1, Number(low))
    }
  }
  const data = { depth: waiting, kept }
  return waiting > 0
    ? finding(
        'consumer.dead-letters',
        'warn',
        `${waiting} dead letter(s) waiting in ${dlq} (${kept} kept)`,
        `${cmd('dlq list')}, fix the cause, ${cmd('dlq redrive')}`,
        data,
      )
    : finding(
        'consumer.dead-letters',
        'ok',
        `none waiting in ${dlq} (${kept} kept, all redriven)`,
        undefined,
        data,
      )
}
