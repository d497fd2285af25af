import { commitBatch, type InboxEntry } from 'outbox-cdc'
import type postgres from 'postgres'
import { applyInTransaction } from '../../test/order-side.ts'
import { sale } from './throughput.ts'

/**
 * One OrderPlaced record as the consumer's batch sees it once parsed: the event and the
 * coordinates the inbox keeps. No Kafka record, no JSON, no validation: what is left is the SQL.
 */
export type BaselineRecord = InboxEntry

/** A sale of one copy of `bookId`, at `partition`/`offset` of `topic`. */
export function baselineRecord(
  topic: string,
  partition: number,
  offset: number,
  bookId: string,
): BaselineRecord {
  const { id, payload } = sale(bookId)
  return {
    event: { id, eventType: 'OrderPlaced', payload },
    topic,
    partition,
    offset: String(offset),
    occurredAt: payload.createdAt,
  }
}

/**
 * The SQL baseline: `records` applied in batches of `batchSize` from `partitions` workers at once
 * (one a partition, as the consumer's partitionsConsumedConcurrently), each batch in its own
 * transaction on `sql`, through the consumer's own applyInTransaction: the very statements the
 * consumer sends, without Kafka, parsing, validation or the batch rule around them. Returns the
 * seconds from the first statement to the last commit.
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
        await commitBatch(sql, (tx) => applyInTransaction(tx, batch))
      }
    }),
  )
  return (performance.now() - started) / 1000
}
