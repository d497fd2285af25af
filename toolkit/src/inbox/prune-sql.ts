import type postgres from 'postgres'
import { type OutboxTableName, qualifiedName } from '../outbox/table-name.ts'
import { inboxHorizonOf } from '../schema/sql.ts'

/** How the horizon table names an inbox: `table` or `schema.table`, checked. */
export function inboxKey(inbox: OutboxTableName): string {
  qualifiedName(inbox)
  return typeof inbox === 'string' ? inbox : `${inbox.schema}.${inbox.table}`
}

/** The horizon table beside an inbox, as schemaSql and migration 2 make it. */
export const defaultHorizonOf = (inbox: OutboxTableName): OutboxTableName =>
  inboxHorizonOf({ inboxes: [inbox] }) as OutboxTableName

export interface PruneBatch {
  inbox: OutboxTableName
  /** The horizon table; the one beside the inbox when not given. */
  horizon?: OutboxTableName
  /** One partition read, with its low watermark: a row goes only once all its copies are below. */
  topic: string
  partition: number
  low: bigint
  /** INBOX_RETENTION: rows consumed less long ago than this (on the database's clock) stay. */
  retentionMs: number
  /** Rows consumed at or after this stay: Connect's position does not yet cover them. */
  connectCutoff: Date
  /** Events a dead letter still names: their rows stay. */
  keep: readonly string[]
  /** Rows deleted in one transaction at most. */
  limit: number
}

/**
 * Deletes up to `limit` rows of one partition that no path can bring back, lowest offsets first,
 * in one short transaction, and raises that partition's horizon in the same statement: the
 * horizon never says less than what is gone. Rows another pruner holds are skipped, not waited
 * for (two replicas of a consumer prune the same inbox), and each statement writes one horizon
 * row, so two pruners never wait on each other in a cycle. It reads the inbox by position (the
 * `(topic, partition, kafka_offset)` index), below the low watermark only. Returns how many went.
 */
export async function pruneBatch(sql: postgres.Sql, b: PruneBatch): Promise<number> {
  // Times go as ISO text: a service's client may parse and serialise dates its own way (the
  // bookstore's does), and a Date sent as a parameter would then not serialise.
  const inbox = sql.unsafe(qualifiedName(b.inbox))
  const horizon = sql.unsafe(qualifiedName(b.horizon ?? defaultHorizonOf(b.inbox)))
  const low = String(b.low)
  const [result] = await sql<{ deleted: number }[]>`
    with bounds as (
      select least(clock_timestamp() - ${b.retentionMs} * interval '1 millisecond', ${b.connectCutoff.toISOString()}::timestamptz) as cutoff),
    prunable as (
      select i.event_id
      from ${inbox} i, bounds
      where i.topic = ${b.topic} and i.partition = ${b.partition}
        and i.kafka_offset < ${low}::bigint
        and coalesce(i.last_offset, i.kafka_offset) < ${low}::bigint
        and (i.redeliveries = 0 or i.last_offset is not null)
        and i.consumed_at < bounds.cutoff
        and i.event_id <> all(${sql.array(b.keep as string[])}::uuid[])
      order by i.kafka_offset
      limit ${b.limit}
      for update of i skip locked),
    gone as (
      delete from ${inbox} d using prunable p where d.event_id = p.event_id
      returning coalesce(d.last_offset, d.kafka_offset) as last),
    raised as (
      insert into ${horizon} as h (inbox, topic, partition, below_offset, pruned_before)
      select ${inboxKey(b.inbox)}, ${b.topic}, ${b.partition}, max(last) + 1, (select cutoff from bounds)
      from gone having count(*) > 0
      on conflict (inbox, topic, partition) do update set
        below_offset = greatest(h.below_offset, excluded.below_offset),
        pruned_before = greatest(h.pruned_before, excluded.pruned_before),
        pruned_at = now()
      returning 1)
    select (select count(*) from gone)::int as deleted, (select count(*) from raised)::int as raised`
  return result?.deleted ?? 0
}

export interface InboxHorizonRow {
  topic: string
  partition: number
  belowOffset: bigint
  prunedBefore: Date
}

/** Where an inbox's pruning stands, per partition: nothing at or above `belowOffset` is forgotten. */
export async function readInboxHorizon(
  sql: postgres.Sql,
  inbox: OutboxTableName,
  horizon: OutboxTableName = defaultHorizonOf(inbox),
): Promise<InboxHorizonRow[]> {
  const rows = await sql<{ topic: string; partition: number; below: string; before: Date }[]>`
    select topic, partition, below_offset::text as below, pruned_before as before
    from ${sql.unsafe(qualifiedName(horizon))} where inbox = ${inboxKey(inbox)}
    order by topic, partition`
  return rows.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    belowOffset: BigInt(r.below),
    prunedBefore: r.before,
  }))
}

export interface InboxSize {
  /** The planner's estimate (pg_class.reltuples): exact counting is a full scan of a large table. */
  rowsEstimate: number
  /** The oldest first row of the partitions given, by position (one index probe each). */
  oldestConsumedAt: Date | null
}

/** How large an inbox is and how far back it reaches, cheaply: an estimate and an index probe a partition. */
export async function readInboxSize(
  sql: postgres.Sql,
  inbox: OutboxTableName,
  partitions: readonly { topic: string; partition: number }[],
): Promise<InboxSize> {
  const name = qualifiedName(inbox)
  const [row] = await sql<{ estimate: number | null; oldest: Date | null }[]>`
    select (select greatest(reltuples, 0)::float8 from pg_class where oid = ${name}::regclass) as estimate,
           (select min(first.consumed_at)
            from unnest(${sql.array(partitions.map((p) => p.topic))}::text[],
                        ${sql.array(partitions.map((p) => p.partition))}::int[]) as p(topic, partition),
            lateral (select i.consumed_at from ${sql.unsafe(name)} i
                     where i.topic = p.topic and i.partition = p.partition
                     order by i.kafka_offset limit 1) first) as oldest`
  return { rowsEstimate: Math.round(row?.estimate ?? 0), oldestConsumedAt: row?.oldest ?? null }
}
