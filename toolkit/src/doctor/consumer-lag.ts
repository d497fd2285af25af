import type { Admin } from 'kafkajs'
import { cliCommands } from '../operations.ts'
import type { ConsumerTarget, DoctorTargets } from './check.ts'
import { type Finding, finding } from './finding.ts'

/**
 * A consumer group's lag over `topics`: a failure when records wait and nobody is in the group, or
 * when the lag is above `maxConsumerLag`. A partition never committed counts from its start.
 * `consumer.check` names the finding (`consumer.group` by default).
 */
export async function consumerLagFinding(
  admin: Admin,
  topics: string[],
  t: DoctorTargets,
  consumer: ConsumerTarget,
): Promise<Finding> {
  const who = {
    group: consumer.group,
    check: consumer.check ?? 'consumer.group',
    start: consumer.start ?? (t.commands ?? cliCommands)('start consumer', consumer.group),
  }
  const lags: { topic: string; partition: number; lag: number }[] = []
  for (const topic of topics) {
    const [ends, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: who.group, topics: [topic] }),
    ])
    const at = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
    for (const end of ends) {
      lags.push({ topic, partition: end.partition, lag: partitionLag(end, at.get(end.partition)) })
    }
  }
  const total = lags.reduce((sum, l) => sum + l.lag, 0)
  const [group] = (await admin.describeGroups([who.group])).groups
  const members = group?.members.length ?? 0
  const detail = `group ${who.group}: ${members} member(s), ${describeLag(lags)}`
  if (members === 0 && total > 0)
    return finding(who.check, 'fail', `${detail}: nobody is consuming`, who.start, lags)
  if (total > t.maxConsumerLag)
    return finding(
      who.check,
      'fail',
      `${detail}: above ${t.maxConsumerLag}`,
      `the consumer is falling behind: add members (same group, ${who.group}) or look at its retries`,
      lags,
    )
  return finding(who.check, 'ok', detail, undefined, lags)
}

/** Lagging partitions shown by name; past this many, counted. */
const namedAtMost = 4

/**
 * The group's lag in one short line: the total, then the partitions that lag, most first. A
 * partition at 0 is not news (a healthy group of 12 partitions would read as a list of zeros), and
 * the figures of every partition stay in the finding's data.
 */
export function describeLag(lags: readonly { topic: string; partition: number; lag: number }[]): string {
  const total = lags.reduce((sum, l) => sum + l.lag, 0)
  const lagging = lags.filter((l) => l.lag > 0).sort((a, b) => b.lag - a.lag)
  if (lagging.length === 0) return `lag ${total}`
  const named = lagging.slice(0, namedAtMost).map((l) => `${l.topic}[${l.partition}]=${l.lag}`)
  const more = lagging.length > namedAtMost ? `, ${lagging.length - namedAtMost} more partition(s)` : ''
  return `lag ${total} (${named.join(', ')}${more})`
}

/**
 * One partition's lag: its end less the group's position (its committed offset, or the first
 * offset still kept when it has none or one older). A committed offset past the end (a topic
 * deleted and made again) is no negative lag: it would net out another partition's real lag.
 */
export function partitionLag(end: { high: string; low: string }, committed: number | undefined): number {
  const position = Math.max(committed ?? -1, Number(end.low))
  return Math.max(0, Number(end.high) - position)
}
