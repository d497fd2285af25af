import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Admin } from 'kafkajs'
import type postgres from 'postgres'
import { rssMbOf } from '../measurement/rss.ts'

/**
 * The proportional set size of process `root` and every process under it, in MB: Postgres as a
 * whole (its postmaster, backends and workers). Found by parent, not by process group: each
 * Postgres backend makes itself a group leader. PSS, not RSS: each backend maps the shared
 * buffers, and summing their RSS would count those once per backend.
 */
export function treePssMb(root: number | undefined): number {
  if (root === undefined) return 0
  const parentOf = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // Field 4 of /proc/<pid>/stat is the parent; the command (field 2) may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // A process that ended between the listing and the read.
    }
  }
  const under = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; hops += 1) {
      if (p === root) return true
      p = parentOf.get(p)
    }
    return false
  }
  let kb = 0
  for (const pid of parentOf.keys()) {
    if (!under(pid)) continue
    try {
      const pss = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))
      kb += Number(pss?.[1] ?? 0)
    } catch {
      // A backend that ended between the listing and the read.
    }
  }
  return Math.round(kb / 1024)
}

/** Resident memory of each named process, MB: a pid's RSS, or a process tree's PSS. */
export function memoryOf(processes: Record<string, { pid?: number | undefined; tree?: boolean }>) {
  return Object.fromEntries(
    Object.entries(processes).map(([name, p]) => [name, p.tree ? treePssMb(p.pid) : rssMbOf(p.pid)]),
  )
}

/**
 * Bytes on disk under `dir`, every file (a Kafka node's log dirs: what the topics' retention
 * bounds). Blocks allocated, not sizes: Kafka preallocates each segment's index files sparse.
 */
export function bytesUnder(dir: string): number {
  let total = 0
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return 0
  }
  for (const name of entries) {
    const path = join(dir, name)
    try {
      const stat = statSync(path)
      total += stat.isDirectory() ? bytesUnder(path) : stat.blocks * 512
    } catch {
      // A segment deleted by retention between the listing and the stat.
    }
  }
  return total
}

/** Rows in each inbox and its oldest row's age, and the WAL the replication slots hold back from being recycled. */
export async function databaseSizes(sql: postgres.Sql, inboxes: string[]) {
  const rows: Record<string, number> = {}
  const oldestAgeS: Record<string, number> = {}
  for (const inbox of inboxes) {
    // The oldest row's age as well as the count: one partition whose rows are never pruned
    // shows as an age that keeps rising, long before it shows in the count.
    const [row] = await sql<{ n: number; age: number | null }[]>`
      select count(*)::int as n, extract(epoch from now() - min(consumed_at))::int as age from ${sql(inbox)}`
    rows[inbox] = row?.n ?? 0
    oldestAgeS[inbox] = row?.age ?? 0
  }
  const [wal] = await sql<{ bytes: string | null }[]>`
    select max(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn))::bigint::text as bytes
    from pg_replication_slots`
  return { inboxRows: rows, oldestAgeS, walRetainedMb: Math.round(Number(wal?.bytes ?? 0) / 2 ** 20) }
}

/** Records a topic has held: the sum of its partitions' end offsets. Throws when it cannot be read. */
export async function recordsOf(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic)
  return offsets.reduce((n, p) => n + Number(p.high), 0)
}
