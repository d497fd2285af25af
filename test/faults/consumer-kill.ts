import { setTimeout as delay } from 'node:timers/promises'
import { AssignerProtocol, type Kafka } from 'kafkajs'
import type postgres from 'postgres'

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
  /** Records it had applied (in the inbox) past its group's committed offset: work a kill redoes. */
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

/** The next offset to apply on each partition, by what the inbox holds. */
async function applied(sql: postgres.Sql): Promise<Positions> {
  const rows = await sql<{ tp: string; next: number }[]>`
    select topic || '/' || partition as tp, (max(kafka_offset) + 1)::float8 as next
    from consumed_events group by topic, partition`
  return new Map(rows.map((r) => [r.tp, r.next]))
}

const ahead = (partitions: string[], done: Positions, commit: Positions) =>
  partitions.reduce((sum, tp) => sum + Math.max(0, (done.get(tp) ?? 0) - Math.max(commit.get(tp) ?? 0, 0)), 0)

/**
 * SIGKILLs a consumer at a moment when it holds applied but uncommitted records, so the kill
 * provably costs redelivery. It freezes a member (SIGSTOP), reads the inbox and the group's
 * committed offsets while it cannot move, and kills it only if it is ahead of its commit;
 * otherwise it thaws it, lets a backlog build, and tries again. The count returned is a lower
 * bound for the duplicates the inbox must then skip.
 */
export async function killWithUncommittedWork(
  rig: ConsumerProcesses,
  kafka: Kafka,
  sql: postgres.Sql,
  groupId: string,
  random: () => number,
  maxAttempts = 60,
): Promise<ConsumerKill> {
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const { byPid } = await assignments(kafka, groupId)
    const holders = rig.consumerNames.filter((n) => (byPid.get(rig.pidOf(n) ?? -1) ?? []).length > 0)
    const name = holders[Math.floor(random() * holders.length)]
    if (!name) {
      await delay(500)
      continue
    }
    const partitions = byPid.get(rig.pidOf(name) ?? -1) ?? []
    const topics = [...new Set(partitions.map((tp) => tp.slice(0, tp.lastIndexOf('/'))))]
    rig.signal(name, 'SIGSTOP')
    // A commit it sent just before freezing may still land: look again after a moment.
    await delay(300)
    const uncommitted = ahead(partitions, await applied(sql), await committed(kafka, groupId, topics))
    if (uncommitted > 0) {
      await rig.kill(name)
      return { name, partitions, uncommitted, attempts: attempt }
    }
    // Now and then keep it frozen a while longer, so it has a backlog to work through; then
    // look again a random moment into its catch-up.
    if (attempt % 3 === 0) await delay(1500)
    rig.signal(name, 'SIGCONT')
    await delay(20 + random() * 200)
  }
  throw new Error(`no consumer held uncommitted work in ${maxAttempts} tries`)
}

/** Waits until the group is stable with every consumer process holding partitions again. */
export async function waitGroupComplete(
  rig: ConsumerProcesses,
  kafka: Kafka,
  groupId: string,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const { state, byPid } = await assignments(kafka, groupId).catch(() => ({
      state: undefined,
      byPid: new Map<number, string[]>(),
    }))
    const everyone = rig.consumerNames.every((n) => (byPid.get(rig.pidOf(n) ?? -1) ?? []).length > 0)
    if (state === 'Stable' && everyone) return
    await delay(500)
  }
  throw new Error(`group ${groupId} did not settle with all consumers in ${timeoutMs} ms`)
}
