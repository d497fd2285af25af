import type { Kafka } from 'kafkajs'
import { CodedError } from '../errors.ts'
import { isEventTopicOf } from '../events/topics.ts'

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
 * Moves `groupId`'s committed offsets on every `<namespace>.*` topic back to `from`, never forward
 * (a partition whose group stands before `from` stays where it is). Refused while
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
    const topics = (await admin.listTopics()).filter((t) => isEventTopicOf(namespace, t)).sort()
    const moved: { topic: string; partition: number; offset: string }[] = []
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic)
      let offsets: { partition: number; offset: string }[]
      if (from.kind === 'beginning') offsets = ends.map((e) => ({ partition: e.partition, offset: e.low }))
      else if (from.kind === 'offset') {
        // Clamped into each partition's range (a large number means "the end"), then below.
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
      // Never forward: a target past where the group stands would skip events it has not applied,
      // which no inbox brings back. Where it stands is its commit, or the beginning without one
      // (the consumer reads from the beginning then, as it does once retention passed its commit).
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] })
      const at = new Map(committed?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
      const low = new Map(ends.map((e) => [e.partition, Number(e.low)]))
      offsets = offsets.map(({ partition, offset }) => {
        const start = low.get(partition) ?? 0
        const position = Math.max(at.get(partition) ?? -1, start)
        return { partition, offset: String(Math.min(Number(offset), position)) }
      })
      await admin.setOffsets({ groupId, topic, partitions: offsets })
      moved.push(...offsets.map((o) => ({ topic, ...o })))
    }
    return moved
  } finally {
    await admin.disconnect()
  }
}
