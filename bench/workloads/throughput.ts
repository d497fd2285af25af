import type { Admin, Kafka } from 'kafkajs'
import type postgres from 'postgres'
import { isEventTopicOf, orderPlaced } from '../../lib/events.ts'
import { waitUntil } from '../../lib/wait-until.ts'
import type { BulkCommit } from '../measurement/commit-times.ts'
import { outboxTimestamp } from './outbox-timestamp.ts'

/** Sum of the end offsets of `namespace`'s event topics (isEventTopicOf): how many records it holds. */
export async function recordsIn(admin: Admin, namespace: string): Promise<number> {
  const topics = (await admin.listTopics()).filter((t) => isEventTopicOf(namespace, t))
  let total = 0
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) total += Number(p.high)
  }
  return total
}

/** Polls until `namespace` holds `target` records; returns the seconds it took (or throws). */
export async function waitForRecords(admin: Admin, namespace: string, target: number, timeoutS = 300) {
  const started = performance.now()
  let records = 0
  await waitUntil(
    `${namespace} to hold ${target} records`,
    async () => {
      records = await recordsIn(admin, namespace)
      return records >= target
    },
    { timeoutMs: timeoutS * 1000, intervalMs: 50, progress: () => `${records} so far` },
  )
  return (performance.now() - started) / 1000
}

/** A one-copy OrderPlaced event for `bookId`, as placeOrder would append it. */
export const sale = (bookId: string) =>
  orderPlaced({
    id: crypto.randomUUID(),
    customerId: crypto.randomUUID(),
    bookId,
    quantity: 1,
    total: 9.99,
    status: 'placed',
    createdAt: new Date().toISOString(),
  })

let bulkWritten = 0
/** Events written straight into the outbox by this process (they have no order rows to count). */
export const bulkEventsWritten = () => bulkWritten
/** Starts the count again, for a new stack: the count is of this process's bulk writes into one. */
export const resetBulkEventsWritten = () => {
  bulkWritten = 0
}

/**
 * Writes `count` OrderPlaced events straight into the outbox (as placeOrder does, without the
 * order rows: the publishers read only the outbox), `perTx` to a transaction. Returns each
 * transaction's id, so the time it committed can be read back (track_commit_timestamp).
 */
export async function writeOutboxEvents(
  sql: postgres.Sql,
  bookIds: string[],
  count: number,
  perTx = 100,
): Promise<BulkCommit[]> {
  const commits: BulkCommit[] = []
  for (let written = 0; written < count; written += perTx) {
    const rows = Array.from({ length: Math.min(perTx, count - written) }, (_, i) => {
      const event = sale(bookIds[(written + i) % bookIds.length] ?? '')
      return {
        id: event.id,
        aggregate_type: event.aggregateType,
        aggregate_id: event.aggregateId,
        event_type: event.eventType,
        payload: sql.json(event.payload as postgres.JSONValue),
        created_at: outboxTimestamp(),
      }
    })
    const txid = await sql.begin(async (tx) => {
      await tx`insert into outbox ${tx(rows)}`
      // The delete names the transaction in its answer: no statement more than before.
      const [row] = await tx<{ txid: string }[]>`
        delete from outbox where id in ${tx(rows.map((r) => r.id))} returning txid_current()::text as txid`
      return row?.txid ?? ''
    })
    commits.push({ txid, eventIds: rows.map((r) => r.id) })
    bulkWritten += rows.length
  }
  return commits
}

/** Produces `count` valid OrderPlaced records to `<namespace>.order`, as the connector would. */
export async function produceOrderEvents(kafka: Kafka, namespace: string, bookIds: string[], count: number) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let sent = 0; sent < count; sent += 1000) {
      const messages = Array.from({ length: Math.min(1000, count - sent) }, (_, i) => {
        const event = sale(bookIds[(sent + i) % bookIds.length] ?? '')
        return {
          key: event.aggregateId,
          value: JSON.stringify(event.payload),
          headers: { id: event.id, event_type: event.eventType },
        }
      })
      await producer.send({ topic: `${namespace}.order`, acks: -1, messages })
    }
  } finally {
    await producer.disconnect()
  }
}
