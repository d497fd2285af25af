import type postgres from 'postgres'
import { type OutboxTableName, qualifiedName } from '../outbox/table-name.ts'
import { ConsumerError } from './errors.ts'
import { addParked, type ParkedKeys, type ParkedLetter } from './key-order.ts'

/**
 * Where one consumer group keeps the keys it holds back behind a dead letter. In Postgres, not in
 * memory: the partition may be consumed next by another process, after a crash or a rebalance.
 */
export interface ParkedLetterStore {
  /** The parked letters of `keys` on `topic`, each key's oldest first. */
  load(topic: string, keys: string[]): Promise<ParkedKeys>
  /**
   * Records a letter, once per event (again: its time is brought up to date, as its newest letter
   * is). A letter behind a head whose row is gone (released meanwhile) is not recorded: false.
   */
  add(topic: string, letter: ParkedLetter): Promise<boolean>
  /** Its letter was applied again: the key flows once none of its letters is left. */
  release(eventId: string): Promise<void>
  /** True when the inbox already holds the event (applied before its key was parked). */
  applied(eventId: string): Promise<boolean>
}

interface Row {
  event_id: string
  key: string
  original_offset: string
  behind: string | null
}

export function postgresParkedLetters(
  sql: postgres.Sql,
  options: { table: OutboxTableName; inbox: OutboxTableName; group: string },
): ParkedLetterStore {
  const table = qualifiedName(options.table)
  const inbox = qualifiedName(options.inbox)
  const { group } = options
  return {
    async load(topic, keys) {
      const parked: ParkedKeys = new Map()
      if (keys.length === 0) return parked
      const rows = await sql.unsafe<Row[]>(
        `select event_id, key, original_offset::text, behind from ${table}
          where group_id = $1 and topic = $2 and key = any($3::text[]) order by seq`,
        [group, topic, keys],
        { prepare: true },
      )
      for (const r of rows)
        addParked(parked, {
          eventId: r.event_id,
          key: r.key,
          originalOffset: BigInt(r.original_offset),
          behind: r.behind,
        })
      return parked
    },
    async add(topic, letter) {
      const rows = await sql.unsafe(
        `insert into ${table} (group_id, event_id, topic, key, original_offset, behind)
         select $1, $2, $3, $4, $5, $6::text
          where $6::text is null or exists (select from ${table} where group_id = $1 and event_id = $6::text)
         on conflict (group_id, event_id) do update set parked_at = now()
         returning 1`,
        [group, letter.eventId, topic, letter.key, letter.originalOffset.toString(), letter.behind],
        { prepare: true },
      )
      return rows.length > 0
    },
    async release(eventId) {
      await sql.unsafe(`delete from ${table} where group_id = $1 and event_id = $2`, [group, eventId], {
        prepare: true,
      })
    },
    async applied(eventId) {
      // A parked record may carry any id; only a uuid can be in the inbox.
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(eventId)) return false
      const rows = await sql.unsafe(`select 1 from ${inbox} where event_id = $1`, [eventId], {
        prepare: true,
      })
      return rows.length > 0
    },
  }
}

/**
 * Fails at start, before anything is consumed, when the parked-letters table is missing: without
 * it the first dead letter would stop the consumer.
 */
export async function requireParkedLettersTable(sql: postgres.Sql, table: OutboxTableName): Promise<void> {
  const [row] = await sql<
    { found: string | null }[]
  >`select to_regclass(${qualifiedName(table)})::text as found`
  if (!row?.found)
    throw new ConsumerError(
      'INVALID_STATE',
      `the parked-letters table ${qualifiedName(table)} does not exist: run migrateToolkitSchema (migration 3) or schemaSql, or turn keepKeyOrder off`,
    )
}

/** One key a group holds back, as `dlq list` and the console show it. */
export interface ParkedKey {
  group: string
  topic: string
  key: string
  /** The letter that parked it (the oldest left). */
  head: string
  /** Events parked behind the head. */
  waiting: number
  since: string
}

/** The keys held back, by group (every group's when `group` is not given), longest held first. */
export async function listParkedKeys(
  sql: postgres.Sql,
  table: OutboxTableName,
  group?: string,
): Promise<ParkedKey[]> {
  const rows = await sql.unsafe<
    { group_id: string; topic: string; key: string; head: string; letters: number; since: Date | string }[]
  >(
    `select group_id, topic, key, count(*)::int as letters, min(parked_at) as since,
            (array_agg(event_id order by seq))[1] as head
       from ${qualifiedName(table)}
      where $1::text is null or group_id = $1
      group by group_id, topic, key
      order by since, group_id, topic, key`,
    [group ?? null],
  )
  return rows.map((r) => ({
    group: r.group_id,
    topic: r.topic,
    key: r.key,
    head: r.head,
    waiting: r.letters - 1,
    since: new Date(r.since).toISOString(),
  }))
}

/**
 * Lets a key go without its letters being applied again: deletes every parked letter of `key` in
 * `group` (on `topic`, or on every topic). The letters stay in the dead-letter topic; a redrive
 * then applies them as they come, after what the key has applied since. For a key whose first
 * letter can never be applied, or is gone (kept no longer than the dead-letter topic's retention).
 * Returns the letters released.
 */
export async function releaseParkedKey(
  sql: postgres.Sql,
  table: OutboxTableName,
  target: { group: string; key: string; topic?: string | undefined },
): Promise<number> {
  const rows = await sql.unsafe(
    `delete from ${qualifiedName(table)} where group_id = $1 and key = $2 and ($3::text is null or topic = $3) returning 1`,
    [target.group, target.key, target.topic ?? null],
  )
  return rows.length
}

/** How many letters `group` holds back: a consumer started with keepKeyOrder off says so. */
export async function countParkedLetters(
  sql: postgres.Sql,
  table: OutboxTableName,
  group: string,
): Promise<number> {
  const [found] = await sql<
    { name: string | null }[]
  >`select to_regclass(${qualifiedName(table)})::text as name`
  if (!found?.name) return 0
  const [row] = await sql.unsafe<{ n: number }[]>(
    `select count(*)::int as n from ${qualifiedName(table)} where group_id = $1`,
    [group],
  )
  return row?.n ?? 0
}
