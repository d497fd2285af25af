import { setTimeout as delay } from 'node:timers/promises'
import { AssignerProtocol, type Kafka } from 'kafkajs'
import type postgres from 'postgres'
import { unlessTimedOut, waitUntil } from '../../lib/wait-until.ts'

/** What the suite needs of the rig to freeze and kill one consumer process. */
export interface ConsumerProcesses {
  consumerNames: string[]
  pidOf(name: string): number | undefined
  signal(name: string, signal: 'SIGSTOP' | 'SIGCONT'): void
  kill(name: string): Promise<void>
  restart(name: string): Promise<void>
}

export interface ConsumerKill {
  name: string
  /** Partitions the killed member held, as topic/partition. */
  partitions: string[]
  /** Records it had applied (in the inbox) past its group's final committed offset: work a kill redoes. */
  uncommitted: number
  /** Freeze-and-look tries before one found uncommitted work. */
  attempts: number
}

type Positions = Map<string, number>

/** Which partitions each consumer process holds; a member's client id ends in its pid. */
async function assignments(kafka: Kafka, groupId: string) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [group] = (await admin.describeGroups([groupId])).groups
    const byPid = new Map<number, string[]>()
    for (const member of group?.members ?? []) {
      const pid = Number(/-(\d+)$/.exec(member.clientId)?.[1])
      const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment)
      const held = Object.entries(decoded?.assignment ?? {}).flatMap(([topic, ps]) =>
        ps.map((p) => `${topic}/${p}`),
      )
      byPid.set(pid, held)
    }
    return { state: group?.state, byPid }
  } finally {
    await admin.disconnect()
  }
}

async function committed(kafka: Kafka, groupId: string, topics: string[]): Promise<Positions> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchOffsets({ groupId, topics })
    return new Map(
      offsets.flatMap(({ topic, partitions }) =>
        partitions.map((p) => [`${topic}/${p.partition}`, Number(p.offset)] as const),
      ),
    )
  } finally {
    await admin.disconnect()
  }
}

/** The end of each partition of `topics`: the offset its next record will get. */
async function highWatermarks(kafka: Kafka, topics: string[]): Promise<Positions> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const ends = await Promise.all(
      topics.map(async (topic) =>
        (await admin.fetchTopicOffsets(topic)).map(
          (p) => [`${topic}/${p.partition}`, Number(p.high)] as const,
        ),
      ),
    )
    return new Map(ends.flat())
  } finally {
    await admin.disconnect()
  }
}

/** The inbox a consumer process records in: the order side's, or fulfilment's. */
export type InboxTable = 'consumed_events' | 'fulfilment_inbox'

/** The next offset to apply on each partition, by what the inbox holds. */
async function applied(sql: postgres.Sql, inbox: InboxTable): Promise<Positions> {
  const rows = await sql<{ tp: string; next: number }[]>`
    select topic || '/' || partition as tp, (max(kafka_offset) + 1)::float8 as next
    from ${sql(inbox)} group by topic, partition`
  return new Map(rows.map((r) => [r.tp, r.next]))
}

const ahead = (partitions: string[], done: Positions, commit: Positions) =>
  partitions.reduce((sum, tp) => sum + Math.max(0, (done.get(tp) ?? 0) - Math.max(commit.get(tp) ?? 0, 0)), 0)

/** Sum of the next offsets to apply over `partitions`: grows with every batch the member commits. */
const progress = (partitions: string[], done: Positions) =>
  partitions.reduce((sum, tp) => sum + (done.get(tp) ?? 0), 0)

/**
 * SIGKILLs a consumer at a moment when it holds applied but uncommitted records, so the kill
 * provably costs redelivery. Each try freezes the member (SIGSTOP) for `backlogMs` so a backlog
 * builds on its partitions, thaws it, and watches the inbox every few milliseconds: the first
 * third of the backlog that commits shows there, and the member is frozen again at once. A fetch of
 * that backlog is applied in several transactions but its offsets are committed to Kafka only at
 * its end, so the member is then, almost always, ahead of its commit. It reads the inbox and
 * the group's committed offsets while the member cannot move, and kills it only if it is ahead;
 * otherwise it tries again. The count returned is a lower bound for the duplicates the inbox must
 * then skip.
 */
export async function killWithUncommittedWork(
  rig: ConsumerProcesses,
  kafka: Kafka,
  sql: postgres.Sql,
  groupId: string,
  random: () => number,
  options: { maxAttempts?: number; backlogMs?: number; inbox?: InboxTable } = {},
): Promise<ConsumerKill> {
  const maxAttempts = options.maxAttempts ?? 30
  const inbox = options.inbox ?? 'consumed_events'
  const { byPid } = await assignments(kafka, groupId)
  const holders = rig.consumerNames.filter((n) => (byPid.get(rig.pidOf(n) ?? -1) ?? []).length > 0)
  const name = holders[Math.floor(random() * holders.length)]
  if (!name) throw new Error(`no consumer of ${groupId} holds partitions`)
  const partitions = byPid.get(rig.pidOf(name) ?? -1) ?? []
  const topics = [...new Set(partitions.map((tp) => tp.slice(0, tp.lastIndexOf('/'))))]
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    rig.signal(name, 'SIGSTOP')
    await delay((options.backlogMs ?? 5000) * (0.5 + random()))
    const before = progress(partitions, await applied(sql, inbox))
    const end = progress(partitions, await highWatermarks(kafka, topics))
    // Freeze it again once a third of the backlog is applied: past the few records of a fetch it
    // had in flight when it was frozen (applied and committed on their own), inside the fetch of
    // the backlog, which is applied batch by batch and committed only at its end.
    if (end <= before)
      throw new Error(`no writes reached ${name}'s partitions in a freeze: is the load over?`)
    const mark = before + Math.max(1, Math.floor((end - before) / 3))
    rig.signal(name, 'SIGCONT')
    await waitUntil(
      `${name} to apply a third of its backlog`,
      async () => progress(partitions, await applied(sql, inbox)) >= mark,
      { timeoutMs: 3000, intervalMs: 2 },
      // Not there in 3 s: freeze it wherever it got; the check below decides whether it counts.
    ).catch(unlessTimedOut)
    rig.signal(name, 'SIGSTOP')
    // A commit it sent just before freezing may still land: look after a moment.
    await delay(300)
    const done = await applied(sql, inbox)
    if (ahead(partitions, done, await committed(kafka, groupId, topics)) > 0) {
      await rig.kill(name)
      // Count against the commits as they stand once it is dead: a commit it had sent before
      // the freeze may reach a slow broker later. Until its session expires, nobody else
      // commits its partitions, so this is what the next owner starts from.
      await delay(1500)
      const uncommitted = ahead(partitions, done, await committed(kafka, groupId, topics))
      return { name, partitions, uncommitted, attempts: attempt }
    }
    rig.signal(name, 'SIGCONT')
    await delay(200)
  }
  rig.signal(name, 'SIGCONT')
  throw new Error(`${name} was never caught with uncommitted work in ${maxAttempts} tries`)
}

/** Waits until the group is stable with every consumer process holding partitions again. */
export async function waitGroupComplete(
  rig: ConsumerProcesses,
  kafka: Kafka,
  groupId: string,
  timeoutMs: number,
) {
  await waitUntil(
    `group ${groupId} to settle with all consumers`,
    async () => {
      const { state, byPid } = await assignments(kafka, groupId).catch(() => ({
        state: undefined,
        byPid: new Map<number, string[]>(),
      }))
      const everyone = rig.consumerNames.every((n) => (byPid.get(rig.pidOf(n) ?? -1) ?? []).length > 0)
      return state === 'Stable' && everyone
    },
    { timeoutMs, intervalMs: 500 },
  )
}

/**
 * Waits until the group has committed every record of `topics`: only then has every redelivery
 * been seen, so the inbox's duplicate count is final (the rows can agree before that).
 */
export async function waitNoLag(kafka: Kafka, groupId: string, topics: string[], timeoutMs: number) {
  let lag = Number.POSITIVE_INFINITY
  await waitUntil(
    `group ${groupId} to commit every record`,
    async () => {
      const admin = kafka.admin()
      lag = Number.POSITIVE_INFINITY
      try {
        await admin.connect()
        const commits = await committed(kafka, groupId, topics)
        lag = 0
        for (const topic of topics)
          for (const p of await admin.fetchTopicOffsets(topic))
            lag += Number(p.high) - Math.max(commits.get(`${topic}/${p.partition}`) ?? 0, Number(p.low))
      } catch {
        // A broker just restarted: ask again.
      } finally {
        await admin.disconnect().catch(() => {})
      }
      return lag === 0
    },
    { timeoutMs, intervalMs: 500, progress: () => `still lags by ${lag}` },
  )
}
