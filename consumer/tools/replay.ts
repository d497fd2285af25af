import type { Kafka } from 'kafkajs'
import { CodedError } from '../../lib/errors.ts'

export type ReplayFrom =
  | { kind: 'beginning' }
  | { kind: 'timestamp'; at: Date }
  | { kind: 'offset'; offset: number }

export class ReplayRefused extends CodedError<'REPLAY_REFUSED'> {
  constructor(message: string) {
    super('REPLAY_REFUSED', message, { retryable: true })
  }
}

/** `beginning`, an ISO-8601 timestamp, or a non-negative offset; anything else is an error. */
export function parseReplayFrom(value: string | undefined): ReplayFrom {
  if (value === 'beginning') return { kind: 'beginning' }
  if (value !== undefined && /^\d+$/.test(value)) return { kind: 'offset', offset: Number(value) }
  if (value !== undefined && /^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(Date.parse(value))) {
    return { kind: 'timestamp', at: new Date(value) }
  }
  throw new Error(
    `--from must be "beginning", an ISO timestamp (2026-11-23T10:00:00Z) or an offset; got ${value ?? 'nothing'}`,
  )
}

/**
 * Moves `groupId`'s committed offsets on every `<namespace>.*` topic back to `from`. Refused while
 * the group has members: Kafka would reject it, and a running consumer would overwrite it. The
 * consumer's inbox turns everything re-read into skipped duplicates.
 */
export async function replayGroup(kafka: Kafka, groupId: string, namespace: string, from: ReplayFrom) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [group] = (await admin.describeGroups([groupId])).groups
    if (group && group.members.length > 0) {
      throw new ReplayRefused(
        `group ${groupId} has ${group.members.length} active member(s) (state ${group.state}); stop the consumers, then replay`,
      )
    }
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`)).sort()
    const moved: { topic: string; partition: number; offset: string }[] = []
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic)
      let offsets: { partition: number; offset: string }[]
      if (from.kind === 'beginning') offsets = ends.map((e) => ({ partition: e.partition, offset: e.low }))
      else if (from.kind === 'offset') {
        // Clamped into each partition's range, so a large number means "the end".
        offsets = ends.map((e) => ({
          partition: e.partition,
          offset: String(Math.min(Math.max(from.offset, Number(e.low)), Number(e.high))),
        }))
      } else {
        // A time after the last record has no offset (-1): that partition goes to its end.
        const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, from.at.getTime())
        const high = new Map(ends.map((e) => [e.partition, e.high]))
        offsets = byTime.map((e) => ({
          partition: e.partition,
          offset: e.offset === '-1' ? (high.get(e.partition) ?? e.offset) : e.offset,
        }))
      }
      await admin.setOffsets({ groupId, topic, partitions: offsets })
      moved.push(...offsets.map((o) => ({ topic, ...o })))
    }
    return moved
  } finally {
    await admin.disconnect()
  }
}
