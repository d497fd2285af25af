import type { Admin, Kafka } from 'kafkajs'

export interface OffsetTargets {
  topic: string
  partitions: { partition: number; offset: string }[]
}

/** A partition whose committed offset is not the one asked for. */
export interface Unmoved {
  topic: string
  partition: number
  wanted: string
  committed: string
}

/** How long the join, seeks and first fetch may take before the move is given up. */
const joinTimeoutMs = 60_000

/** The partitions of `targets` whose committed offset (as fetchOffsets reads it) is another. */
export function unmovedPartitions(
  targets: OffsetTargets[],
  committed: { topic: string; partitions: { partition: number; offset: string }[] }[],
): Unmoved[] {
  return targets.flatMap((t) =>
    t.partitions.flatMap(({ partition, offset }) => {
      const now =
        committed.find((c) => c.topic === t.topic)?.partitions.find((p) => p.partition === partition)
          ?.offset ?? '-1'
      return now === offset ? [] : [{ topic: t.topic, partition, wanted: offset, committed: now }]
    }),
  )
}

/**
 * Commits an empty group's offsets on every topic given, in one join, and returns the partitions
 * that did not take them (empty when all did). kafkajs's admin.setOffsets does one topic a call:
 * a member joins the group, seeks, and leaves at its first fetch, which a paused topic answers
 * only after the broker's fetch wait (5 s), so 5 s a topic. Here one member, with a 100 ms fetch
 * wait, seeks them all. Its first fetch does not prove the seeks were committed (a consumer that
 * joined meanwhile takes some partitions, whose seeks kafkajs drops; a commit can fail in a
 * rebalance; each broker's partitions are committed apart): so the offsets are read back.
 */
export async function setGroupOffsets(
  kafka: Kafka,
  admin: Admin,
  groupId: string,
  targets: OffsetTargets[],
): Promise<Unmoved[]> {
  const wanted = targets.filter((t) => t.partitions.length > 0)
  if (wanted.length === 0) return []
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false })
  await consumer.connect()
  let timer: NodeJS.Timeout | undefined
  try {
    await consumer.subscribe({ topics: wanted.map((t) => t.topic), fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`the group did not let a member join and seek within ${joinTimeoutMs / 1000} s`)),
        joinTimeoutMs,
      )
      consumer.on(consumer.events.FETCH, () => resolve())
      consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error))
      consumer.run({ eachBatchAutoResolve: false, eachBatch: async () => {} }).catch(reject)
      consumer.pause(wanted.map((t) => ({ topic: t.topic })))
      for (const t of wanted)
        for (const { partition, offset } of t.partitions) consumer.seek({ topic: t.topic, partition, offset })
    })
  } finally {
    clearTimeout(timer)
    // Leaving waits for each broker's fetch in hand, and with it the seeks it commits.
    await consumer.disconnect()
  }
  return unmovedPartitions(wanted, await admin.fetchOffsets({ groupId, topics: wanted.map((t) => t.topic) }))
}
