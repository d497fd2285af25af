import type postgres from 'postgres'
import { unlessTimedOut, waitUntil } from '../../lib/wait-until.ts'
import { type BulkCommit, commitStarts } from '../measurement/commit-times.ts'
import { type Summary, summarize } from '../measurement/stats.ts'

/** Commit → applied of one minute's bulk writes, in each inbox that applies them. */
export interface MinuteLatency {
  minute: number
  events: number
  /** By inbox: from the writing transaction's commit to the commit of the one that applied it. */
  ms: Record<string, Summary>
  /** By inbox: events not applied `timeoutMs` after the minute's read began (each an error). */
  missing: Record<string, number>
}

/**
 * Commit → applied of the events `commits` wrote, in each of `inboxes`: both ends are
 * pg_xact_commit_timestamp (Postgres' clock as each commit record is written), the writer's by its
 * transaction id, the consumer's by its inbox row's xmin. Waits up to `timeoutMs` for every event
 * to be applied in every inbox, looking at each in every round; those still missing then are
 * counted, not waited for. Read soon after the minute, before a short inbox retention prunes its
 * rows.
 */
export async function minuteLatency(
  sql: postgres.Sql,
  inboxes: string[],
  minute: number,
  commits: BulkCommit[],
  timeoutMs: number,
): Promise<MinuteLatency> {
  const ids = commits.flatMap((c) => c.eventIds)
  const startOf = await commitStarts(sql, commits)
  // Rows found are kept from one look to the next: a short retention may prune the first rows
  // of a minute while its last ones are still awaited. Every inbox is looked at in each round, so
  // one that lags does not leave the others unread until their rows are pruned.
  const found = new Map(inboxes.map((inbox) => [inbox, new Map<string, number | null>()]))
  await waitUntil(
    `${inboxes.join(' and ')} to apply minute ${minute}'s ${ids.length} events`,
    async () => {
      for (const [inbox, rows] of found) {
        if (rows.size >= ids.length) continue
        const more = await sql<{ id: string; ms: number | null }[]>`
          select event_id::text as id, (extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000)::float8 as ms
          from ${sql(inbox)} where event_id = any(${ids.filter((id) => !rows.has(id))}::uuid[])`
        for (const row of more) rows.set(row.id, row.ms)
      }
      return [...found.values()].every((rows) => rows.size >= ids.length)
    },
    { timeoutMs, intervalMs: 1000 },
  ).catch(unlessTimedOut)
  const ms: Record<string, Summary> = {}
  const missing: Record<string, number> = {}
  for (const [inbox, rows] of found) {
    missing[inbox] = ids.length - rows.size
    const latencies = [...rows].map(([id, end]) => {
      const start = startOf.get(id)
      if (start === undefined || Number.isNaN(start) || end === null)
        throw new Error('an event has no commit timestamp: is track_commit_timestamp on?')
      return end - start
    })
    ms[inbox] = summarize(latencies)
  }
  return { minute, events: ids.length, ms, missing }
}
