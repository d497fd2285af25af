import type { Admin, Kafka } from 'kafkajs'
import type postgres from 'postgres'
import type { ConnectClient } from '../connector/connect-client.ts'
import type { Logger } from '../logger.ts'
import type { OutboxTableName } from '../outbox/table-name.ts'
import { listDeadLetters } from '../tools/dlq.ts'
import {
  connectCutoff,
  letterEventIds,
  type PositionSnapshot,
  partitionKey,
  passedSnapshot,
} from './horizon.ts'
import { defaultHorizonOf, pruneBatch } from './prune-sql.ts'
import { committedSourceTime } from './source-position.ts'

/** How a consumer prunes its inbox (see horizon.ts for when a row may go). */
export interface InboxPruningOptions {
  /** INBOX_RETENTION: no row younger than this is deleted, whatever else allows. */
  retentionMs: number
  /** Where Connect's committed positions are read. */
  connect: ConnectClient
  /** Every connector that writes to the topics read: the oldest position of them all counts. */
  connectorName: string | readonly string[]
  /** The horizon table; the one beside the inbox (as schemaSql makes it) when not given. */
  horizon?: OutboxTableName
  /** Between rounds; 60 s when not given. */
  intervalMs?: number
  /** Rows deleted per transaction; 1,000 when not given. */
  batchSize?: number
  /** Clock skew allowed between the source database and the inbox's; 60 s when not given. */
  marginMs?: number
}

export interface InboxPrunerStatus {
  /** Why the last round deleted nothing it might have, or null when nothing held it. */
  heldBy: string | null
  /** Rows deleted since start. */
  pruned: number
  lastRoundAt: Date | null
}

export interface InboxPrunerDeps extends InboxPruningOptions {
  sql: postgres.Sql
  /** For reading the dead letters. */
  kafka: Kafka
  /** Connected; owned by the caller. */
  admin: Admin
  groupId: string
  inbox: OutboxTableName
  deadLetterTopic: string
  /** The topics the consumer reads now. */
  topics: () => string[]
  log: Logger
  onPruned?: (rows: number) => void
}

export interface InboxPruner {
  /** One round now: what the loop does every interval (nothing once stopped). */
  runOnce(): Promise<InboxPrunerStatus>
  /** Ends the loop after the batch in hand. */
  stop(): Promise<void>
  readonly status: InboxPrunerStatus
}

/** Snapshots kept for a group that lags: one a round, so this many rounds of lag. */
const keptSnapshots = 60

/** How long stop() waits for a round in progress. */
const stopWaitMs = 5000

/**
 * Deletes inbox rows no path can bring back, every `intervalMs`, partition by partition in
 * batches of `batchSize`, each its own short transaction. A round that cannot tell (Connect
 * unreachable, the group behind it, the database or Kafka failing) deletes nothing and says why in
 * `status.heldBy`, logged when the reason changes, not every round.
 */
export function startInboxPruner(d: InboxPrunerDeps): InboxPruner {
  const horizon = d.horizon ?? defaultHorizonOf(d.inbox)
  const connectors = typeof d.connectorName === 'string' ? [d.connectorName] : [...d.connectorName]
  const status: InboxPrunerStatus = { heldBy: null, pruned: 0, lastRoundAt: null }
  const snapshots: PositionSnapshot[] = []
  let stopping = false
  let timer: NodeJS.Timeout | undefined
  let inFlight: Promise<InboxPrunerStatus> | undefined
  let lastSaid: string | null = null

  const hold = (reason: string) => {
    status.heldBy = reason
    if (reason !== lastSaid) d.log.info({ inbox: d.inbox, reason }, 'inbox pruning held')
    lastSaid = reason
  }

  /** The oldest committed source time of every connector; a string says why there is none. */
  async function sourceTime(): Promise<number | string> {
    let oldest = Number.POSITIVE_INFINITY
    for (const name of connectors) {
      let time: number | null
      try {
        time = await committedSourceTime(d.connect, name)
      } catch (error) {
        return `Connect's position for ${name} cannot be read: ${(error as Error).message}`
      }
      if (time === null) return `Connect has recorded no position for ${name} yet`
      oldest = Math.min(oldest, time)
    }
    return oldest
  }

  async function round(): Promise<void> {
    const topics = d.topics()
    if (topics.length === 0) return hold('no topic read yet')
    const source = await sourceTime()
    if (typeof source === 'string') return hold(source)
    const ends = new Map<string, bigint>()
    const partitions: { topic: string; partition: number; low: bigint }[] = []
    for (const topic of topics)
      for (const p of await d.admin.fetchTopicOffsets(topic)) {
        ends.set(partitionKey(topic, p.partition), BigInt(p.high))
        partitions.push({ topic, partition: p.partition, low: BigInt(p.low) })
      }
    snapshots.push({ sourceTimeMs: source, ends })
    if (snapshots.length > keptSnapshots) snapshots.shift()
    const committed = new Map<string, bigint>()
    for (const t of await d.admin.fetchOffsets({ groupId: d.groupId, topics }))
      for (const p of t.partitions)
        if (p.offset !== '-1') committed.set(partitionKey(t.topic, p.partition), BigInt(p.offset))
    const lows = new Map(partitions.map((p) => [partitionKey(p.topic, p.partition), p.low]))
    const passed = passedSnapshot(snapshots, committed, lows)
    if (!passed)
      return hold(
        `group ${d.groupId} has not yet read past the records written before Connect's last recorded position`,
      )
    // Read after the snapshot: a letter written since names its event here, and its row stays.
    const keep = letterEventIds(await listDeadLetters(d.kafka, d.deadLetterTopic))
    const cutoff = new Date(connectCutoff(passed.sourceTimeMs, d.marginMs ?? 60_000))
    const limit = d.batchSize ?? 1000
    for (const p of partitions) {
      for (;;) {
        if (stopping) return
        const deleted = await pruneBatch(d.sql, {
          inbox: d.inbox,
          horizon,
          ...p,
          retentionMs: d.retentionMs,
          connectCutoff: cutoff,
          keep,
          limit,
        })
        if (deleted > 0) {
          status.pruned += deleted
          d.onPruned?.(deleted)
        }
        if (deleted < limit) break
      }
    }
    status.heldBy = null
    lastSaid = null
  }

  const runOnce = () => {
    if (stopping) return Promise.resolve({ ...status })
    inFlight ??= round()
      .catch((error: Error) => hold(`the last round failed: ${error.message}`))
      .then(() => {
        status.lastRoundAt = new Date()
        return { ...status }
      })
      .finally(() => {
        inFlight = undefined
      })
    return inFlight
  }
  const schedule = () => {
    if (stopping) return
    timer = setTimeout(() => void runOnce().finally(schedule), d.intervalMs ?? 60_000)
    timer.unref?.()
  }
  schedule()

  return {
    runOnce,
    get status() {
      return { ...status }
    },
    async stop() {
      stopping = true
      clearTimeout(timer)
      // A round ends after its batch in hand; one waiting on Kafka or Connect (down at shutdown) is
      // not waited for past a few seconds: it deletes nothing more, and the clients close under it.
      let waited: NodeJS.Timeout | undefined
      await Promise.race([inFlight, new Promise((resolve) => (waited = setTimeout(resolve, stopWaitMs)))])
      clearTimeout(waited)
    },
  }
}
