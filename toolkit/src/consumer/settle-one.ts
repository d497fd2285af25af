import type { BatchRule, PartitionBatch } from './batch-rule.ts'
import type { IncomingEvent } from './incoming-event.ts'
import { FatalConsumerError, type Outcome, processMessage } from './process-message.ts'

/** The record is done: its offset may be committed. */
export async function resolveOne(payload: PartitionBatch, offset: string): Promise<void> {
  payload.resolveOffset(offset)
  await payload.heartbeat()
}

/**
 * Applies one record with retries, dead-lettering it if it cannot be applied, and counts the
 * outcome; resolves nothing. Undefined when the consumer must stop (onFatal was called).
 */
export async function settleOne(
  rule: BatchRule,
  payload: PartitionBatch,
  incoming: IncomingEvent,
): Promise<Outcome | undefined> {
  const { topic, partition } = payload.batch
  const coordinates = { eventId: incoming.headers.id, topic, partition, offset: incoming.offset }
  const onRetry = (error: unknown, attempt: number) => {
    rule.stats.retries += 1
    rule.metrics?.retries.inc()
    rule.log.warn({ ...coordinates, attempt, err: error }, 'event failed, retrying')
  }
  const stopTimer = rule.metrics?.processing.startTimer()
  let result: Outcome
  try {
    result = await processMessage(
      {
        applyEvent: rule.applyEvent,
        publishDeadLetter: rule.publishDeadLetter,
        deadLetterTopic: rule.deadLetterTopic,
        retry: rule.retry,
        heartbeat: payload.heartbeat,
      },
      incoming,
      onRetry,
    )
  } catch (error) {
    if (!(error instanceof FatalConsumerError)) throw error
    rule.log.fatal({ ...coordinates, code: error.code, err: error }, 'consumer cannot go on')
    rule.onFatal(error)
    return undefined
  }
  stopTimer?.()
  count(rule, result, incoming)
  if (result.outcome === 'dead-lettered')
    rule.log.error({ ...coordinates, deadLetterTopic: rule.deadLetterTopic }, 'event dead-lettered')
  return result
}

/** Counts one outcome; commit-to-apply runs from the record timestamp (the outbox row's created_at). */
function count(rule: BatchRule, result: Outcome, incoming: IncomingEvent) {
  const { stats, metrics } = rule
  if (result.outcome === 'applied') {
    stats.applied += 1
    const eventType = incoming.headers.event_type ?? 'unknown'
    metrics?.applied.inc({ event_type: eventType })
    metrics?.commitToApply.observe(
      { event_type: eventType },
      Math.max(0, Date.now() - Number(incoming.timestamp ?? '0')) / 1000,
    )
  } else if (result.outcome === 'duplicate') {
    stats.duplicates += 1
    metrics?.duplicates.inc()
  } else {
    stats.deadLettered += 1
    metrics?.deadLetters.inc({ error_code: result.errorCode })
  }
}
