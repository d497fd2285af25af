import type { Admin, Kafka } from 'kafkajs'
import type postgres from 'postgres'
import { waitUntil } from '../../lib/wait-until.ts'

/** The clock time (ms) at which `groupId` is stable with members, or undefined while it is not. */
export async function stableAt(admin: Admin, groupId: string): Promise<number | undefined> {
  const { groups } = await admin.describeGroups([groupId])
  return groups[0]?.state === 'Stable' && groups[0].members.length > 0 ? Date.now() : undefined
}

/**
 * Starts watching `groupId` and resolves once the watcher polls (so it cannot miss a fast join);
 * `joinedAtMs` then resolves with the clock time (ms) at which the group is first seen Stable
 * with a member: a subscriber has joined and been given its partitions, which follows its
 * subscribe and run at once. Both consumers of the consumer phase are timed from this, observed
 * the same way (the group polled every 5 ms from the bench), since the consumer process's own
 * subscribe cannot be seen from outside it.
 */
export async function watchGroupJoin(kafka: Kafka, groupId: string, timeoutS = 120) {
  const admin = kafka.admin()
  await admin.connect()
  await admin.describeGroups([groupId])
  const joinedAtMs = (async () => {
    try {
      return await waitUntil(`consumer group ${groupId} to become stable`, () => stableAt(admin, groupId), {
        timeoutMs: timeoutS * 1000,
        intervalMs: 5,
      })
    } finally {
      await admin.disconnect()
    }
  })()
  return { joinedAtMs }
}

/** A drain from joining the group to the last record handled, both as clock times (ms). */
export interface Drain {
  joinedAtMs: number
  lastHandledAtMs: number
  seconds: number
}

export const drainOf = (joinedAtMs: number, lastHandledAtMs: number): Drain => ({
  joinedAtMs,
  lastHandledAtMs,
  seconds: (lastHandledAtMs - joinedAtMs) / 1000,
})

/**
 * The floor the consumer is measured against: kafkajs alone reading the same records in a group
 * of its own (as many partitions at once as the consumer) and doing nothing with them. From the
 * group join to the moment the last record was handed to it.
 */
export async function rawConsume(
  kafka: Kafka,
  namespace: string,
  count: number,
  partitionsConcurrently: number,
): Promise<Drain> {
  const groupId = `bench-raw-${crypto.randomUUID()}`
  const consumer = kafka.consumer({ groupId })
  const watcher = await watchGroupJoin(kafka, groupId)
  await consumer.connect()
  await consumer.subscribe({
    topics: [new RegExp(`^${namespace.replaceAll('.', '\\.')}\\.`)],
    fromBeginning: true,
  })
  let seen = 0
  const last = new Promise<number>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: partitionsConcurrently,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length
        if (seen >= count) resolve(Date.now())
      },
    })
  })
  const drain = drainOf(await watcher.joinedAtMs, await last)
  await consumer.disconnect()
  return drain
}

/**
 * Waits until the inbox holds `count` events of `namespace` and returns when the last of them
 * was handled: the latest commit timestamp of their apply transactions (Postgres' clock, the
 * same machine's as the bench's; needs track_commit_timestamp).
 */
export async function lastApplied(sql: postgres.Sql, namespace: string, count: number, timeoutS = 600) {
  let applied = 0
  await waitUntil(
    `the consumer to apply ${count} events of ${namespace}`,
    async () => {
      const [row] = await sql<{ n: number }[]>`
        select count(*)::int as n from consumed_events where topic like ${`${namespace}.%`}`
      applied = row?.n ?? 0
      return applied >= count
    },
    { timeoutMs: timeoutS * 1000, intervalMs: 100, progress: () => `${applied} applied` },
  )
  const [row] = await sql<{ ms: number }[]>`
    select (extract(epoch from max(pg_xact_commit_timestamp(xmin))) * 1000)::float8 as ms
    from consumed_events where topic like ${`${namespace}.%`}`
  if (!row?.ms) throw new Error('no commit timestamps: is track_commit_timestamp on?')
  return row.ms
}
