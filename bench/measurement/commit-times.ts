import type { Admin, Kafka } from 'kafkajs'
import type postgres from 'postgres'

/** One committed transaction of the bulk writer: its transaction id and the events it wrote. */
export interface BulkCommit {
  /** txid_current() of the writing transaction, for pg_xact_commit_timestamp. */
  txid: string
  eventIds: string[]
}

/** What a writer knows after its commit: the bulk writer its transaction, the API the order it made. */
export type WriteReceipt = BulkCommit | { orderId: string }

type Offsets = Awaited<ReturnType<Admin['fetchTopicOffsets']>>

/**
 * The id and key (the order id) of every record of `topic` between two sets of end offsets: how
 * an API write's event is told apart, since the API answers with the order, not the event id.
 */
async function eventOrderIds(kafka: Kafka, admin: Admin, topic: string, from: Offsets, to: Offsets) {
  const ids = new Map<string, string>()
  const start = new Map(from.map((p) => [p.partition, Number(p.offset)]))
  const pending = new Map(
    to
      .filter((p) => Number(p.offset) > (start.get(p.partition) ?? 0))
      .map((p) => [p.partition, Number(p.offset)]),
  )
  if (pending.size === 0) return ids
  const groupId = `bench-keys-${crypto.randomUUID()}`
  await admin.setOffsets({
    groupId,
    topic,
    partitions: from.map((p) => ({ partition: p.partition, offset: p.offset })),
  })
  const consumer = kafka.consumer({ groupId })
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic] })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`could not read ${topic} back in 120 s`)), 120_000)
      void consumer.run({
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) {
            const id = m.headers?.id?.toString()
            if (id && m.key) ids.set(id, m.key.toString())
            const end = pending.get(batch.partition)
            if (end !== undefined && Number(m.offset) + 1 >= end) pending.delete(batch.partition)
          }
          if (pending.size === 0) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
  return ids
}

/**
 * The commit time (ms since the epoch, pg_xact_commit_timestamp) of each event `commits` wrote,
 * by event id: NaN where Postgres has none, which callers treat as track_commit_timestamp off.
 */
export async function commitStarts(sql: postgres.Sql, commits: BulkCommit[]): Promise<Map<string, number>> {
  const startOf = new Map<string, number>()
  if (commits.length === 0) return startOf
  // txid_current() counts epochs above 2^32; the xid a commit timestamp is kept under is its low half.
  const rows = await sql<{ txid: string; ms: number | null }[]>`
    select t.txid,
      (extract(epoch from pg_xact_commit_timestamp((t.txid::bigint % 4294967296)::text::xid)) * 1000)::float8 as ms
    from unnest(${commits.map((c) => c.txid)}::text[]) as t(txid)`
  const byTx = new Map(rows.map((r) => [r.txid, r.ms]))
  for (const c of commits) for (const id of c.eventIds) startOf.set(id, byTx.get(c.txid) ?? Number.NaN)
  return startOf
}

/**
 * Commit → applied latency (ms) of every event the run wrote. The start is the commit timestamp
 * of the writing transaction (the bulk writer's by its txid, the API's by its order row's xmin);
 * the end, the commit timestamp of the consumer's transaction that recorded the event in the
 * inbox. Both are Postgres' clock when the commit record was written, before its WAL flush, so
 * the two ends are read the same way; needs track_commit_timestamp.
 */
export async function commitLatencies(run: {
  sql: postgres.Sql
  inbox: postgres.Sql
  kafka: Kafka
  admin: Admin
  orderTopic: string
  offsetsBefore: Offsets
  receipts: WriteReceipt[]
  since: Date
  topicPrefix: string
}): Promise<number[]> {
  const { sql, inbox, receipts } = run
  const startOf = new Map<string, number>()
  const commits = receipts.filter((r): r is BulkCommit => 'txid' in r)
  for (const [id, ms] of await commitStarts(sql, commits)) startOf.set(id, ms)
  const orderIds = receipts.filter((r): r is { orderId: string } => 'orderId' in r).map((r) => r.orderId)
  if (orderIds.length > 0) {
    const offsetsAfter = await run.admin.fetchTopicOffsets(run.orderTopic)
    const events = await eventOrderIds(run.kafka, run.admin, run.orderTopic, run.offsetsBefore, offsetsAfter)
    const rows = await sql<{ id: string; ms: number | null }[]>`
      select id::text, (extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000)::float8 as ms
      from orders where id = any(${orderIds}::uuid[])`
    const byOrder = new Map(rows.map((r) => [r.id, r.ms]))
    for (const [eventId, orderId] of events) {
      const at = byOrder.get(orderId)
      if (at !== undefined) startOf.set(eventId, at ?? Number.NaN)
    }
  }
  const applied = await inbox<{ id: string; ms: number | null }[]>`
    select event_id::text as id, (extract(epoch from pg_xact_commit_timestamp(xmin)) * 1000)::float8 as ms
    from consumed_events
    where occurred_at >= ${run.since} and topic like ${`${run.topicPrefix}%`}`
  const latencies: number[] = []
  for (const { id, ms: end } of applied) {
    const start = startOf.get(id)
    if (start === undefined) continue
    if (end === null || Number.isNaN(start))
      throw new Error('an event has no commit timestamp: is track_commit_timestamp on?')
    latencies.push(end - start)
  }
  const expected = commits.reduce((n, c) => n + c.eventIds.length, 0) + orderIds.length
  if (latencies.length < expected)
    throw new Error(`found both commits of only ${latencies.length} of the ${expected} events written`)
  return latencies
}
