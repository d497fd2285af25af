import type { KafkaMessage } from 'kafkajs'
import pRetry from 'p-retry'
import type { BatchRule, PartitionBatch } from './batch-rule.ts'
import { deadLetterMessage, dlqHeader } from './dead-letter.ts'
import { type IncomingEvent, toIncoming } from './incoming-event.ts'
import { isKafkaFailure } from './kafka-failure.ts'
import {
  addParked,
  eventIdOf,
  needsOrder,
  originalOffsetOf,
  type ParkedKeys,
  removeParked,
  verdictFor,
} from './key-order.ts'
import { FatalConsumerError } from './process-message.ts'
import { resolveOne, settleOne } from './settle-one.ts'

/** A batch's records in the order their keys allow (see verdictFor). */
export interface BatchOrder {
  /** True when `messages` cannot be applied together: a key is held back or a record was redriven. */
  needsOrder(messages: KafkaMessage[]): boolean
  /** Settles one record as its verdict says and resolves it; false when the consumer must stop. */
  applyOne(message: KafkaMessage): Promise<boolean>
}

/**
 * How this batch keeps its keys' order: undefined when the rule keeps no order (no group given),
 * 'failed' when the parked keys could not be read (onFatal was called; nothing is resolved).
 *
 * Every step is durable before the offset is resolved, so a crash at any point delivers the record
 * again and the verdict comes out the same or further on:
 * - a record dead-lettered for good: the letter is acknowledged, then its key's row written;
 * - a record parked: its letter (reason "behind <event id>") acknowledged, then its row written;
 * - a redriven letter: applied (the inbox records it), then its row deleted.
 * A letter acknowledged whose row was lost to a crash is sent again; a redrive applies the second
 * copy as a duplicate.
 */
export async function orderFor(
  rule: BatchRule,
  payload: PartitionBatch,
): Promise<BatchOrder | undefined | 'failed'> {
  const keyOrder = rule.keyOrder
  if (!keyOrder) return undefined
  const { topic, partition } = payload.batch
  const store = keyOrder.parked
  const toRecord = (m: KafkaMessage) => toIncoming(topic, partition, m)
  let parked: ParkedKeys | undefined
  if (store) {
    const keys = [...new Set(payload.batch.messages.flatMap((m) => (m.key ? [m.key.toString()] : [])))]
    const loaded = await durably(rule, payload, 'read the parked keys', () => store.load(topic, keys))
    if (!loaded) return 'failed'
    parked = loaded.value
  }

  const park = async (record: IncomingEvent, behind: string): Promise<boolean> => {
    if (!store || !parked || record.key === null) return false
    const eventId = eventIdOf(record)
    const done = await durably(rule, payload, 'check the inbox', () => store.applied(eventId))
    if (!done) return false
    if (done.value) {
      // Applied before its key was held back (a record delivered again): nothing to keep in order.
      rule.stats.duplicates += 1
      rule.metrics?.duplicates.inc()
      return true
    }
    const letter = deadLetterMessage(record, { code: 'PARKED', message: `behind ${behind}`, attempts: 0 })
    letter.headers = { ...letter.headers, [dlqHeader.parkedBehind]: behind }
    try {
      await rule.publishDeadLetter(letter)
    } catch (cause) {
      const reason = `could not publish a parked letter to ${rule.deadLetterTopic}`
      return fatal(rule, new FatalConsumerError('DEAD_LETTER_FAILED', reason, { cause }))
    }
    const row = { eventId, key: record.key, originalOffset: originalOffsetOf(record), behind }
    if ((await durably(rule, payload, 'record the parked letter', () => store.add(topic, row))) === undefined)
      return false
    addParked(parked, row)
    rule.stats.parked += 1
    rule.metrics?.deadLetters.inc({ error_code: 'PARKED' })
    rule.log.warn(
      { eventId, topic, partition, offset: record.offset, key: record.key, behind },
      'event parked behind its key',
    )
    return true
  }

  const settle = async (record: IncomingEvent): Promise<boolean> => {
    const verdict = verdictFor(record, keyOrder.group, parked)
    switch (verdict.kind) {
      case 'skip-other-group':
        rule.log.debug(
          { eventId: eventIdOf(record), for: verdict.group },
          'redriven for another group; passed by',
        )
        return true
      case 'skip-lettered':
        rule.log.info(
          { eventId: eventIdOf(record), key: record.key },
          'already a parked letter; waits for its redrive',
        )
        return true
      case 'park':
        return park(record, verdict.behind)
      case 'apply-letter':
      case 'apply': {
        const result = await settleOne(rule, payload, record)
        if (!result) return false
        if (!store || !parked || record.key === null) return true
        const eventId = eventIdOf(record)
        if (verdict.kind === 'apply-letter') {
          // Failed again: its new letter is the key's head now, and its row stays.
          if (result.outcome === 'dead-lettered') return true
          if (
            (await durably(rule, payload, 'release the letter', () => store.release(eventId))) === undefined
          )
            return false
          removeParked(parked, record.key, eventId)
          return true
        }
        if (result.outcome !== 'dead-lettered') return true
        const row = { eventId, key: record.key, originalOffset: originalOffsetOf(record), behind: null }
        if ((await durably(rule, payload, 'hold its key back', () => store.add(topic, row))) === undefined)
          return false
        addParked(parked, row)
        return true
      }
    }
  }

  return {
    needsOrder: (messages) => needsOrder(messages.map(toRecord), parked),
    async applyOne(message) {
      if (!(await settle(toRecord(message)))) return false
      await resolveOne(payload, message.offset)
      return true
    },
  }
}

function fatal(rule: BatchRule, error: FatalConsumerError): false {
  rule.log.fatal({ code: error.code, err: error }, 'consumer cannot go on')
  rule.onFatal(error)
  return false
}

/**
 * A read or write of the parked-letters table, retried as a transient failure is; undefined
 * (onFatal called) when it outlasts the policy, with the record in hand unresolved.
 */
async function durably<T>(
  rule: BatchRule,
  payload: PartitionBatch,
  what: string,
  step: () => Promise<T>,
): Promise<{ value: T } | undefined> {
  try {
    return {
      value: await pRetry(step, {
        retries: rule.retry.maxAttempts - 1,
        minTimeout: rule.retry.baseDelayMs,
        maxTimeout: rule.retry.maxDelayMs,
        randomize: true,
        onFailedAttempt: async ({ retriesLeft }) => {
          if (retriesLeft > 0) await payload.heartbeat()
        },
      }),
    }
  } catch (cause) {
    // A failed heartbeat is kafkajs's to handle (it rejoins); the record stays unresolved.
    if (isKafkaFailure(cause)) throw cause
    fatal(
      rule,
      new FatalConsumerError(
        'DATABASE_UNAVAILABLE',
        `could not ${what}; stopping so a restart resumes from the last commit`,
        { cause },
      ),
    )
    return undefined
  }
}
