import type postgres from 'postgres'
import { toCents } from '../lib/events.ts'

/** One OrderPlaced record as the consumer's batch sees it, for the SQL baseline. */
export interface BaselineRecord {
  eventId: string
  topic: string
  partition: number
  offset: bigint
  /** The record timestamp as the ISO text Drizzle sends. */
  occurredAt: string
  bookId: string
  quantity: number
  total: number
}

/** A statement as sent: its text and parameters. */
export interface Statement {
  text: string
  params: unknown[]
}

/**
 * THE SQL THE CONSUMER RUNS FOR A BATCH OF OrderPlaced RECORDS, statement for statement, as
 * Drizzle renders it today (consumer/apply-event.ts applyBatch, consumer/catalogue.ts
 * recordSales). consumer-sql-baseline.test.ts runs applyBatch against a recording client and
 * fails when the consumer's SQL no longer matches: update these three together then.
 */
export const consumerBatchSql = {
  /** The inbox insert: fresh rows answer `(xmax = 0)` true, a redelivery bumps its counter. */
  inbox(records: BaselineRecord[]): Statement {
    const rows = records.map(
      (_, i) =>
        `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, default, $${i * 6 + 6}, default)`,
    )
    return {
      text:
        'insert into "consumed_events" ("event_id", "event_type", "topic", "partition", "kafka_offset", "consumed_at", "occurred_at", "redeliveries") ' +
        `values ${rows.join(', ')} on conflict ("event_id") do update set "redeliveries" = "consumed_events"."redeliveries" + 1 returning "event_id", (xmax = 0)`,
      params: records.flatMap((r) => [
        r.eventId,
        'OrderPlaced',
        r.topic,
        r.partition,
        r.offset,
        r.occurredAt,
      ]),
    }
  },
  /** Advisory locks on the read-model keys of the fresh events, in one sorted pass. */
  locks(bookIds: string[]): Statement {
    return {
      text: 'select pg_advisory_xact_lock(h) from (select distinct hashtext(k) as h from unnest($1::text[]) as k) s order by h',
      params: [bookIds],
    }
  },
  /** The sales of the fresh events, summed per book, in one upsert. */
  sales(records: BaselineRecord[]): Statement {
    const perBook = new Map<string, { units: number; cents: number }>()
    for (const r of records) {
      const row = perBook.get(r.bookId) ?? { units: 0, cents: 0 }
      row.units += r.quantity
      row.cents += toCents(r.total)
      perBook.set(r.bookId, row)
    }
    const rows = [...perBook.keys()].map(
      (_, i) => `($${i * 3 + 1}, default, default, default, $${i * 3 + 2}, $${i * 3 + 3}, default, default)`,
    )
    return {
      text:
        'insert into "catalogue" ("book_id", "title", "author", "price_cents", "units_sold", "revenue_cents", "removed_at", "updated_at") ' +
        `values ${rows.join(', ')} on conflict ("book_id") do update set "units_sold" = "catalogue"."units_sold" + excluded.units_sold, "revenue_cents" = "catalogue"."revenue_cents" + excluded.revenue_cents, "updated_at" = now()`,
      params: [...perBook].flatMap(([bookId, row]) => [bookId, row.units, row.cents]),
    }
  },
}

/** The part of postgres.js a batch needs: `unsafe` answering rows as arrays. */
export interface StatementRunner {
  unsafe(text: string, params: unknown[]): { values(): Promise<unknown[][]> }
}

/**
 * Applies one batch with the consumer's SQL from a plain postgres.js transaction: the inbox
 * insert, then, for the events recorded for the first time, the locks and the sales upsert.
 * Returns how many were fresh.
 */
export async function applyBatchAsConsumer(tx: StatementRunner, records: BaselineRecord[]): Promise<number> {
  const run = (s: Statement) => tx.unsafe(s.text, s.params).values()
  const recorded = await run(consumerBatchSql.inbox(records))
  const fresh = new Set(recorded.filter((row) => row[1] === true).map((row) => String(row[0])))
  const toApply = records.filter((r) => fresh.has(r.eventId))
  if (toApply.length === 0) return 0
  await run(consumerBatchSql.locks(toApply.map((r) => r.bookId)))
  await run(consumerBatchSql.sales(toApply))
  return toApply.length
}

/**
 * The SQL baseline: `records` applied in batches of `batchSize` from `partitions` workers at once
 * (one a partition, as the consumer's partitionsConsumedConcurrently), each batch in its own
 * transaction on `sql`. Returns the seconds from the first statement to the last commit.
 */
export async function runSqlBaseline(
  sql: postgres.Sql,
  records: BaselineRecord[],
  batchSize: number,
  partitions: number,
): Promise<number> {
  const byPartition = Array.from({ length: partitions }, (_, p) => records.filter((r) => r.partition === p))
  const started = performance.now()
  await Promise.all(
    byPartition.map(async (list) => {
      for (let at = 0; at < list.length; at += batchSize) {
        const batch = list.slice(at, at + batchSize)
        await sql.begin((tx) => applyBatchAsConsumer(tx as unknown as StatementRunner, batch))
      }
    }),
  )
  return (performance.now() - started) / 1000
}
