import type { Admin, Kafka } from 'kafkajs'
import { CodedError } from '../errors.ts'
import { isEventTopicOf } from '../events/topics.ts'
import { setGroupOffsets } from '../kafka/group-offsets.ts'

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

/** A partition of an inbox's horizon: events whose copies all lay below `belowOffset` may be forgotten. */
export interface HorizonPartition {
  topic: string
  partition: number
  belowOffset: bigint
  prunedBefore: Date
}

/** A partition the replay would move below its inbox's horizon: events there may be applied again. */
export interface BelowHorizon {
  topic: string
  partition: number
  offset: string
  belowOffset: string
  prunedBefore: string
}

export interface ReplayOptions {
  /** The group's inbox horizon (readInboxHorizon): a move below it is refused unless `force`. */
  horizon?: readonly HorizonPartition[]
  force?: boolean
}

/**
 * Moves `groupId`'s committed offsets on every `<namespace>.*` topic back to `from`, never forward
 * (a partition whose group stands before `from` stays where it is). Refused while
 * the group has members: Kafka would reject it, and a running consumer would overwrite it. The
 * consumer's inbox turns everything re-read into skipped duplicates, down to its horizon: a move
 * below it (whose inbox rows were pruned) is refused, naming it, and nothing moves; with `force`
 * it is made, and `belowHorizon` lists what may be applied again.
 */
export async function replayGroup(
  kafka: Kafka,
  groupId: string,
  namespace: string,
  from: ReplayFrom,
  options: ReplayOptions = {},
) {
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
    const planned: { topic: string; partitions: { partition: number; offset: string; end: bigint }[] }[] = []
    for (const topic of topics)
      planned.push({ topic, partitions: await targetsOf(admin, groupId, topic, from) })
    const moved = planned.flatMap(({ topic, partitions }) =>
      partitions.map(({ partition, offset }) => ({ topic, partition, offset })),
    )
    // A horizon above a partition's end is not this topic's: it was deleted and made again, and
    // its offsets started over (every event of the old one is gone with it).
    const ends = new Map(
      planned.flatMap(({ topic, partitions }) =>
        partitions.map((p) => [`${topic}\u0000${p.partition}`, p.end]),
      ),
    )
    const belowHorizon = moved.flatMap((m): BelowHorizon[] => {
      const h = options.horizon?.find((p) => p.topic === m.topic && p.partition === m.partition)
      const end = ends.get(`${m.topic}\u0000${m.partition}`) ?? 0n
      return h && h.belowOffset <= end && BigInt(m.offset) < h.belowOffset
        ? [
            {
              ...m,
              belowOffset: String(h.belowOffset),
              prunedBefore: h.prunedBefore.toISOString(),
            },
          ]
        : []
    })
    if (belowHorizon.length > 0 && !options.force) {
      const first = belowHorizon[0] as BelowHorizon
      throw new ReplayRefused(
        `the inbox was pruned up to ${first.prunedBefore}: ${belowHorizon
          .map((b) => `${b.topic}[${b.partition}] to ${b.offset} is below its horizon ${b.belowOffset}`)
          .join(
            ', ',
          )}. Events there may have been applied and forgotten, and would be applied again. Replay from later, or add --force to apply them again anyway`,
      )
    }
    // Checked again just before the join: a consumer started while the plan was made would share
    // the partitions with the replay's member (and the read-back below would name what it kept).
    const [now] = (await admin.describeGroups([groupId])).groups
    if (now && now.members.length > 0)
      throw new ReplayRefused(
        `group ${groupId} gained ${now.members.length} member(s) while the replay was planned; nothing was moved. Stop the consumers, then replay`,
      )
    const unmoved = await setGroupOffsets(
      kafka,
      admin,
      groupId,
      planned.map(({ topic, partitions }) => ({
        topic,
        partitions: partitions.map(({ partition, offset }) => ({ partition, offset })),
      })),
    )
    if (unmoved.length > 0)
      throw new ReplayRefused(
        `${unmoved.length} partition(s) did not move: ${unmoved
          .map((u) => `${u.topic}[${u.partition}] is at ${u.committed}, not ${u.wanted}`)
          .join(
            ', ',
          )}. A consumer of the group may have started meanwhile: stop it and run the same replay again (it never moves a partition forward)`,
      )
    return { moved, belowHorizon }
  } finally {
    await admin.disconnect()
  }
}

/** Where `from` puts each partition of `topic`, clamped into its range and never past where the group stands. */
async function targetsOf(admin: Admin, groupId: string, topic: string, from: ReplayFrom) {
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
  const high = new Map(ends.map((e) => [e.partition, BigInt(e.high)]))
  return offsets.map(({ partition, offset }) => {
    const start = low.get(partition) ?? 0
    const position = Math.max(at.get(partition) ?? -1, start)
    return { partition, offset: String(Math.min(Number(offset), position)), end: high.get(partition) ?? 0n }
  })
}
