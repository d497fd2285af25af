import type { Admin, Kafka, KafkaJSDeleteGroupsError, KafkaMessage } from 'kafkajs'
import pRetry from 'p-retry'

/**
 * Where a read starts and what it leaves behind.
 * - `commit`: from `groupId`'s committed offsets (the beginning without any), committing each
 *   record to `groupId` once `onMessage` has resolved for it.
 * - `peek`: from `positionOf`'s committed offsets (the beginning without it), committing nothing
 *   anywhere; the read's own group is deleted afterwards, whether the read succeeded or not.
 */
export type ReadMode =
  | { kind: 'commit'; groupId: string }
  /** `newest`: at most this many records per partition, the newest (a bounded look at a long topic). */
  | { kind: 'peek'; positionOf?: string; newest?: number }

type OnMessage = (message: KafkaMessage, partition: number) => Promise<void>

interface ReadPlan {
  /** Where each partition starts: the group's committed offset, or the earliest still kept. */
  starts: { partition: number; offset: string }[]
  /** Partitions with something to read, each with the end (exclusive) as it stood at the start. */
  ends: Map<number, number>
}

async function planRead(
  admin: Admin,
  topic: string,
  groupId: string | undefined,
  newest?: number,
): Promise<ReadPlan> {
  const [offsets, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    groupId ? admin.fetchOffsets({ groupId, topics: [topic] }) : Promise.resolve([]),
  ])
  const position = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
  const starts: ReadPlan['starts'] = []
  const ends = new Map<number, number>()
  for (const { partition, high, low } of offsets) {
    const from = Math.max(
      position.get(partition) ?? -1,
      Number(low),
      newest === undefined ? 0 : Number(high) - newest,
    )
    starts.push({ partition, offset: String(from) })
    if (Number(high) > from) ends.set(partition, Number(high))
  }
  return { starts, ends }
}

/**
 * Hands each record of `topic` from the mode's start up to the end as it stood when called to
 * `onMessage`, one at a time, and resolves with how many it handled once every partition has
 * reached its end, so a command can stop instead of waiting forever.
 *
 * Records that arrive meanwhile are neither handled nor committed: a partition is paused as soon
 * as it reaches its end, and one record past it is left for the next read. In `commit` mode a
 * record is committed only after `onMessage` resolved for it, so a read that fails half way has
 * committed exactly the records handled before the failure; it rejects with that failure.
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  mode: ReadMode,
  onMessage: OnMessage,
): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const plan = await planRead(
      admin,
      topic,
      mode.kind === 'commit' ? mode.groupId : mode.positionOf,
      mode.kind === 'peek' ? mode.newest : undefined,
    )
    if (plan.ends.size === 0) return 0
    if (mode.kind === 'commit') return await consume(kafka, topic, mode.groupId, plan, onMessage, true)

    // kafkajs cannot read without a group: this one commits nothing and is deleted however the
    // read ends.
    const groupId = `outbox-cdc-peek-${crypto.randomUUID()}`
    let count: number
    try {
      count = await consume(kafka, topic, groupId, plan, onMessage, false)
    } catch (error) {
      await deleteGroup(admin, groupId).catch((cleanup: unknown) => {
        throw new AggregateError(
          [error, cleanup],
          `${(error as Error).message}; and consumer group ${groupId} was left behind`,
        )
      })
      throw error
    }
    await deleteGroup(admin, groupId)
    return count
  } finally {
    await admin.disconnect()
  }
}

async function consume(
  kafka: Kafka,
  topic: string,
  groupId: string,
  plan: ReadPlan,
  onMessage: OnMessage,
  commit: boolean,
): Promise<number> {
  const remaining = new Map(plan.ends)
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false })
  let count = 0
  let finished = false
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: unknown) => {
        if (finished) return
        finished = true
        if (error === undefined) resolve()
        else reject(error)
      }
      consumer.on(consumer.events.CRASH, ({ payload }) => finish(payload.error))
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, pause }) => {
            const end = remaining.get(batch.partition)
            for (const message of batch.messages) {
              if (finished) return
              const offset = Number(message.offset)
              if (end === undefined || offset >= end) {
                // Arrived after the read began: the next read handles it. Unresolved, uncommitted.
                pause()
                return
              }
              try {
                await onMessage(message, batch.partition)
                // Resolving moves the fetch position on; only `commit` mode records it anywhere.
                resolveOffset(message.offset)
                if (commit) {
                  await commitOffsetsIfNecessary({
                    topics: [
                      { topic, partitions: [{ partition: batch.partition, offset: String(offset + 1) }] },
                    ],
                  })
                }
              } catch (error) {
                finish(error)
                return
              }
              count += 1
              await heartbeat()
              if (offset + 1 >= end) {
                remaining.delete(batch.partition)
                pause()
                if (remaining.size === 0) finish()
                return
              }
            }
          },
        })
        .catch(finish)
      // Both modes start exactly where the plan says; run() has set the group up by now, and
      // kafkajs applies a seek before its first fetch. Without autoCommit a seek commits nothing.
      for (const start of plan.starts) consumer.seek({ topic, ...start })
    })
  } finally {
    await consumer.disconnect()
  }
  return count
}

const groupErrors = (error: unknown) =>
  ((error as Partial<KafkaJSDeleteGroupsError>).groups ?? []).map((g) => g.error?.type)

/** Deletes an empty group; one already gone is fine, one whose member is still leaving is retried. */
export async function deleteGroup(admin: Admin, groupId: string) {
  await pRetry(
    async () => {
      try {
        await admin.deleteGroups([groupId])
      } catch (error) {
        const types = groupErrors(error)
        if (types.length > 0 && types.every((type) => type === 'GROUP_ID_NOT_FOUND')) return
        throw error
      }
    },
    {
      retries: 5,
      minTimeout: 200,
      shouldRetry: ({ error }) => groupErrors(error).includes('NON_EMPTY_GROUP'),
    },
  )
}
