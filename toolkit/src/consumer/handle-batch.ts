import type { KafkaMessage } from 'kafkajs'
import type { ApplyOutcome } from './apply-event.ts'
import type { BatchRule, PartitionBatch } from './batch-rule.ts'
import { type IncomingEvent, toIncoming } from './incoming-event.ts'
import { isKafkaFailure, kafkaErrorType } from './kafka-failure.ts'
import { type BatchOrder, orderFor } from './keep-key-order.ts'
import { resolveOne, settleOne } from './settle-one.ts'

export type { BatchRule, ConsumerStats, PartitionBatch } from './batch-rule.ts'

/**
 * The consumer's rule for one partition's batch, the same for every record however it is applied:
 * records go in chunks of `batchSize`, each chunk in one transaction; a chunk that fails is rolled
 * back and its records go one by one through processMessage (retries, dead letters). An offset is
 * resolved only once every record up to it was applied, found duplicate, or dead-lettered with the
 * broker's acknowledgement, so a commit never skips an event.
 * - A fatal error (transient failures outlasting the policy, a dead letter the broker did not take)
 *   calls `onFatal` and returns with the record in hand and everything after it unresolved.
 * - A failed kafkajs call (heartbeat, commit) is rethrown as it is, with the record in hand
 *   unresolved: kafkajs commits what was resolved, rejoins the group, and whoever owns the partition
 *   then gets the rest again.
 */
export async function handleBatch(rule: BatchRule, payload: PartitionBatch): Promise<void> {
  const { batch } = payload
  const halted = () => !payload.isRunning() || payload.isStale() || rule.hasFailed()
  try {
    const order = await orderFor(rule, payload)
    if (order === 'failed') return
    for (let start = 0; start < batch.messages.length; start += rule.batchSize) {
      if (halted()) break
      const chunk = batch.messages.slice(start, start + rule.batchSize)
      // A chunk with a held-back key or a redriven record goes in runs: those records one by
      // one, in order, and the ordinary records between them together.
      if (order && chunk.length > 1 && order.needsOrder(chunk)) {
        if (!(await applyInRuns(rule, payload, chunk, order, halted))) return
        continue
      }
      if (chunk.length > 1 && (await applyTogether(rule, payload, chunk))) continue
      for (const message of chunk) {
        if (halted()) break
        if (!(await (order ? order.applyOne(message) : applyOne(rule, payload, message)))) return
      }
    }
    await payload.commitOffsetsIfNecessary()
  } catch (error) {
    if (isKafkaFailure(error))
      rule.log.warn(
        { topic: batch.topic, partition: batch.partition, kafkaError: kafkaErrorType(error), err: error },
        'Kafka call failed; unresolved records are left for whoever owns the partition',
      )
    throw error
  }
}

/** One record on its own, with retries and dead letters; false when the consumer must stop. */
async function applyOne(rule: BatchRule, payload: PartitionBatch, message: KafkaMessage): Promise<boolean> {
  const incoming = toIncoming(payload.batch.topic, payload.batch.partition, message)
  if (!(await settleOne(rule, payload, incoming))) return false
  await resolveOne(payload, message.offset)
  return true
}

/**
 * A chunk in which some records need their verdict (a held-back key, a redriven copy): each of
 * those on its own, and each run of ordinary records between them in one transaction (one by one
 * if it fails, when a verdict may change). False when the consumer must stop.
 */
async function applyInRuns(
  rule: BatchRule,
  payload: PartitionBatch,
  chunk: KafkaMessage[],
  order: BatchOrder,
  halted: () => boolean,
): Promise<boolean> {
  let start = 0
  while (start < chunk.length && !halted()) {
    let end = start
    while (end < chunk.length && order.isPlain(chunk[end] as KafkaMessage)) end += 1
    if (end === start) end = start + 1
    const run = chunk.slice(start, end)
    start = end
    if (run.length > 1 && (await applyTogether(rule, payload, run))) continue
    for (const message of run) {
      if (halted()) return true
      if (!(await order.applyOne(message))) return false
    }
  }
  return true
}

/** Records in one transaction; false (nothing changed, nothing resolved) if any of them fails. */
async function applyTogether(
  rule: BatchRule,
  payload: PartitionBatch,
  messages: KafkaMessage[],
): Promise<boolean> {
  const { topic, partition } = payload.batch
  const incoming = messages.map((m) => toIncoming(topic, partition, m))
  const started = performance.now()
  let outcomes: Array<'applied' | 'duplicate'>
  try {
    outcomes = await rule.applyBatch(incoming)
  } catch (error) {
    // Expected now and then (one poison record rejects its whole chunk), but a partition that
    // keeps falling back runs at a fraction of the batch rate: counted and visible, not debug.
    rule.metrics?.batchFallbacks.inc()
    rule.log.warn(
      { topic, partition, fromOffset: messages[0]?.offset, records: messages.length, err: error },
      'batch rolled back; applying its records one by one',
    )
    return false
  }
  countBatch(rule, incoming, outcomes, (performance.now() - started) / 1000)
  payload.resolveOffset(messages[messages.length - 1]?.offset ?? '0')
  await payload.heartbeat()
  return true
}

/**
 * Counts a batch's outcomes as count() would one by one, with each label's series looked up once
 * per batch instead of once per record (prom-client hashes the labels on every call).
 */
function countBatch(rule: BatchRule, incoming: IncomingEvent[], outcomes: ApplyOutcome[], seconds: number) {
  const { stats, metrics } = rule
  const now = Date.now()
  const byType = new Map<string, number[]>()
  let duplicates = 0
  outcomes.forEach((outcome, i) => {
    if (outcome === 'duplicate') {
      duplicates += 1
      return
    }
    const record = incoming[i] as IncomingEvent
    const eventType = record.headers.event_type ?? 'unknown'
    const delays = byType.get(eventType) ?? []
    delays.push(Math.max(0, now - Number(record.timestamp ?? '0')) / 1000)
    byType.set(eventType, delays)
  })
  stats.duplicates += duplicates
  stats.applied += outcomes.length - duplicates
  if (!metrics) return
  metrics.duplicates.inc(duplicates)
  for (const [eventType, delays] of byType) {
    metrics.applied.inc({ event_type: eventType }, delays.length)
    const latency = metrics.commitToApply.labels({ event_type: eventType })
    for (const delay of delays) latency.observe(delay)
  }
  const share = seconds / outcomes.length
  for (let i = 0; i < outcomes.length; i += 1) metrics.processing.observe(share)
}
