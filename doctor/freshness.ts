import { type DoctorCheck, type Finding, finding } from 'outbox-cdc'
import type postgres from 'postgres'
import type { BookstoreTargets } from './config.ts'

/** A row's timestamp that is set by the same write that appends an event to an outbox. */
type Source = readonly [table: string, column: string]

/**
 * Each inbox, and the writes whose events it receives. Only writes that append an event count:
 * `books.updated_at` also moves when a warehouse capacity changes, which writes no event (fulfilment
 * takes the capacity from OrderPlaced), so it would read as a write nothing ever applies.
 */
const streams: { inbox: string; sources: Source[]; checked: (t: BookstoreTargets) => boolean }[] = [
  {
    // The order service's consumer reads every topic of the namespace.
    inbox: 'consumed_events',
    sources: [
      ['books', 'created_at'], // BookAdded
      ['books', 'removed_at'], // BookRemoved
      ['orders', 'created_at'], // OrderPlaced
      ['orders', 'cancelled_at'], // OrderCancelled
      ['shipments', 'created_at'], // ShipmentDispatched, ShipmentFailed
    ],
    checked: () => true,
  },
  {
    // Fulfilment reads the order topic, when the pipeline runs it (FULFILMENT_GROUP).
    inbox: 'fulfilment_inbox',
    sources: [
      ['orders', 'created_at'],
      ['orders', 'cancelled_at'],
    ],
    checked: (t) => Boolean(t.fulfilmentGroup),
  },
]

interface StreamState {
  /** ISO text: the same whichever client's type parsers the caller's `sql` has. */
  written: string | null
  applied: string | null
  ageS: number | null
  pending: boolean
}

/**
 * Whether the newest write that produced an event has been applied, read from one clock: each
 * event carries its writer's time (the outbox row's created_at, which the consumer records as
 * `occurred_at`), stamped no earlier than the row it describes and by the same clock. So the newest
 * write is applied once an event at least as new is, however far the writer's clock is from the
 * database's. The age, which only decides when a pending write counts as stuck, is taken on the
 * database's clock.
 *
 * Every read is an index probe, as the console runs this every few seconds on tables that grow
 * by thousands of rows a second: the newest of each write by its own index (migration 0010), and
 * the newest applied among each partition's latest 100 rows by the inbox's position index, its
 * partitions found by skipping through that index (a scan of the inbox took a second at a million
 * rows, and grew with it). 100, not 1: writers commit in an order their clocks need not share, so
 * the newest event of a partition may sit a few offsets before its last. Only when those windows
 * say a write is pending and older than `staleAfterS` (a failure about to be reported) does it
 * look through the whole inbox for an event at least as new: a transaction that committed late,
 * or a writer with a slower clock, can push the newest event out of its partition's window, and
 * an idle pipeline that has applied everything must not be reported stuck.
 */
async function stateOf(
  sql: postgres.Sql,
  inbox: string,
  sources: Source[],
  staleAfterS: number,
): Promise<StreamState> {
  const [row] = await sql.unsafe<
    { written: string | null; applied: string | null; age_s: number | null; pending: boolean }[]
  >(freshnessSql(inbox, sources), [staleAfterS])
  return {
    written: row?.written ?? null,
    applied: row?.applied ?? null,
    ageS: row?.age_s ?? null,
    pending: row?.pending ?? false,
  }
}

/** Each inbox the check reads, with the writes whose events it applies. */
export const freshnessStreams = streams.map(({ inbox, sources }) => ({ inbox, sources }))

/** The one statement stateOf runs for `inbox`, given `staleAfterS` as $1 (exported to show its plan in a test). */
export function freshnessSql(inbox: string, sources: readonly Source[]): string {
  // Identifiers come from the fixed list above, never from input.
  const newest = sources.map(([table, column]) => `(select max(${column}) from ${table})`).join(', ')
  return `with recursive partitions as (
       (select topic, partition from ${inbox} order by topic, partition limit 1)
       union all
       select n.topic, n.partition from partitions p,
         lateral (select i.topic, i.partition from ${inbox} i
                  where (i.topic, i.partition) > (p.topic, p.partition)
                  order by i.topic, i.partition limit 1) n
     ),
     applied as (
       select max(r.occurred_at) as at from partitions p,
         lateral (select i.occurred_at from ${inbox} i
                  where i.topic = p.topic and i.partition = p.partition
                  order by i.kafka_offset desc limit 100) r
     )
     select to_json(w.at)#>>'{}' as written, to_json(a.at)#>>'{}' as applied,
            extract(epoch from now() - w.at)::float8 as age_s,
            case
              when not coalesce(date_trunc('milliseconds', w.at) > coalesce(a.at, '-infinity'), false) then false
              when extract(epoch from now() - w.at) <= $1::float8 then true
              else not exists (select from ${inbox} i where i.occurred_at >= date_trunc('milliseconds', w.at))
            end as pending
     from (select greatest(${newest}) as at) w, applied a`
}

/** The tables that exist here: a split deployment keeps fulfilment's in a database of its own. */
async function existingTables(sql: postgres.Sql, names: string[]): Promise<Set<string>> {
  const rows = await sql<{ name: string }[]>`
    select name from unnest(${names}::text[]) as name where to_regclass(name) is not null`
  return new Set(rows.map((r) => r.name))
}

/** End to end: a write that produced an event, older than `staleAfterS`, that no inbox has applied. */
export const freshnessCheck: DoctorCheck<BookstoreTargets> = {
  name: 'pipeline.freshness',
  hintWhenUnreachable: 'is Postgres up, and migrated (npm run db:migrate)?',
  async run({ sql }, t) {
    const wanted = streams.filter((s) => s.checked(t))
    const names = [...new Set(wanted.flatMap((s) => [s.inbox, ...s.sources.map(([table]) => table)]))]
    const present = await existingTables(sql, names)
    const parts: string[] = []
    const unchecked: string[] = []
    const stuck: string[] = []
    const data: Record<string, StreamState> = {}
    for (const stream of wanted) {
      const sources = stream.sources.filter(([table]) => present.has(table))
      // A service split into a database of its own keeps its inbox there: say it went unchecked.
      if (!present.has(stream.inbox) || sources.length === 0) {
        unchecked.push(`${stream.inbox} is not in this database, so it is not checked here`)
        continue
      }
      const state = await stateOf(sql, stream.inbox, sources, t.staleAfterS)
      data[stream.inbox] = state
      if (!state.written) continue
      parts.push(
        `${stream.inbox}: newest write ${state.written}, newest applied event ${state.applied ?? 'none'}`,
      )
      if (state.pending && (state.ageS ?? 0) > t.staleAfterS)
        stuck.push(`${stream.inbox} has not applied a write ${Math.round(state.ageS ?? 0)} s old`)
    }
    if (parts.length === 0)
      return [finding('pipeline.freshness', 'ok', ['nothing written yet', ...unchecked].join('; '))]
    const detail = [...parts, ...unchecked].join('; ')
    const result: Finding =
      stuck.length > 0
        ? finding(
            'pipeline.freshness',
            'fail',
            `${stuck.join('; ')} (${detail}): a write is not applied yet`,
            'follow the first failing check above',
            data,
          )
        : finding('pipeline.freshness', 'ok', detail, undefined, data)
    return [result]
  },
}
