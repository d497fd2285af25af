import type { KafkaMessage } from 'kafkajs'
import pRetry from 'p-retry'
import type { BatchRule, PartitionBatch } from './batch-rule.ts'
import { deadLetterMessage, dlqHeader } from './dead-letter.ts'
import { type IncomingEvent, toIncoming } from './incoming-event.ts'
import { isKafkaFailure } from './kafka-failure.ts'
import {
  addParked,
  isEventId,
  letterIdOf,
  needsOrder,
  originalOffsetOf,
  type ParkedKeys,
  type ParkedLetter,
  parkedKeyOf,
  redrivenFor,
  removeParked,
  verdictFor,
} from './key-order.ts'
import { FatalConsumerError } from './process-message.ts'
import { resolveOne, settleOne } from './settle-one.ts'
import { isTransient } from './transient.ts'

/** A batch's records in the order their keys allow (see verdictFor). */
export interface BatchOrder {
  /** True when `messages` cannot be applied together: a key is held back or a record was redriven. */
  needsOrder(messages: KafkaMessage[]): boolean
  /** True when the record is an ordinary one now: nothing holds its key back, and it was not redriven. */
  isPlain(message: KafkaMessage): boolean
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
    const keys = new Set(payload.batch.messages.flatMap((m) => parkedKeyOf(toRecord(m)) ?? []))
    const loaded = await durably(rule, payload, 'read the parked keys', () => store.load(topic, [...keys]))
    if (loaded === 'fatal') return 'failed'
    // Refused (not an outage): this batch keeps no order rather than stop the consumer for good.
    parked = 'value' in loaded ? loaded.value : undefined
  }

  const park = async (record: IncomingEvent, key: string, behind: string): Promise<boolean> => {
    const eventId = letterIdOf(record)
    // A head the inbox holds was applied outside the parked flow (a redrive while order was off,
    // say): nothing waits for it any more. Let it go and decide again.
    if (store && parked && isEventId(behind)) {
      const headDone = await durably(rule, payload, 'check the inbox', () => store.applied(behind))
      if (headDone === 'fatal') return false
      if ('value' in headDone && headDone.value) {
        const released = await durably(rule, payload, 'release the letter', () => store.release(behind))
        if (released === 'fatal') return false
        removeParked(parked, key, behind)
        rule.log.warn(
          { eventId: behind, key: record.key },
          'a parked head already applied: its key is let go',
        )
        return settle(record)
      }
    }
    if (store && isEventId(eventId)) {
      const done = await durably(rule, payload, 'check the inbox', () => store.applied(eventId))
      if (done === 'fatal') return false
      if ('value' in done && done.value) {
        // Applied before its key was held back (a record delivered again): nothing to keep in order.
        rule.stats.duplicates += 1
        rule.metrics?.duplicates.inc()
        return true
      }
    }
    const letter = deadLetterMessage(record, { code: 'PARKED', message: `behind ${behind}`, attempts: 0 })
    letter.headers = { ...letter.headers, [dlqHeader.parkedBehind]: behind }
    try {
      await rule.publishDeadLetter(letter)
    } catch (cause) {
      const reason = `could not publish a parked letter to ${rule.deadLetterTopic}`
      return fatal(rule, new FatalConsumerError('DEAD_LETTER_FAILED', reason, { cause }))
    }
    const row = { eventId, key, originalOffset: originalOffsetOf(record), behind }
    if (!(await hold(row))) return false
    rule.stats.parked += 1
    rule.metrics?.deadLetters.inc({ error_code: 'PARKED' })
    rule.log.warn(
      { eventId, topic, partition, offset: record.offset, key: record.key, behind },
      'event parked behind its key',
    )
    return true
  }

  /** Records a letter of a held key; false only when the consumer must stop. */
  const hold = async (row: ParkedLetter): Promise<boolean> => {
    if (!store || !parked) return true
    const added = await durably(rule, payload, 'record the parked letter', () => store.add(topic, row))
    if (added === 'fatal') return false
    if ('value' in added && added.value) addParked(parked, row)
    // Its head was released meanwhile (dlq release): the key is free from here on.
    else if ('value' in added && row.behind !== null) removeParked(parked, row.key, row.behind)
    return true
  }

  const settle = async (record: IncomingEvent): Promise<boolean> => {
    const verdict = verdictFor(record, keyOrder.group, parked)
    const key = parkedKeyOf(record)
    switch (verdict.kind) {
      case 'skip-other-group':
        rule.log.debug(
          { eventId: letterIdOf(record), for: verdict.group },
          'redriven for another group; passed by',
        )
        return true
      case 'skip-lettered':
        rule.log.info(
          { eventId: letterIdOf(record), key: record.key },
          'already a parked letter; waits for its redrive',
        )
        return true
      case 'park':
        return park(record, key as string, verdict.behind)
      case 'apply-letter':
      case 'apply': {
        const result = await settleOne(rule, payload, record)
        if (!result) return false
        if (!store || !parked || key === null) return true
        const eventId = letterIdOf(record)
        if (verdict.kind === 'apply') {
          // A redriven copy that fails while its key is free holds nothing back: its key was let go
          // (dlq release, or order off), and what came after it has been applied already.
          if (result.outcome !== 'dead-lettered' || redrivenFor(record) !== undefined) return true
          return hold({ eventId, key, originalOffset: originalOffsetOf(record), behind: null })
        }
        // Failed again: its new letter is the key's head now, and its row stays, dated as the
        // new letter (the doctor compares that date with how long letters are kept).
        if (result.outcome === 'dead-lettered') {
          const head = parked.get(key)?.[0]
          return head ? hold(head) : true
        }
        const released = await durably(rule, payload, 'release the letter', () => store.release(eventId))
        if (released === 'fatal') return false
        if ('value' in released) removeParked(parked, key, eventId)
        return true
      }
    }
  }

  return {
    needsOrder: (messages) => needsOrder(messages.map(toRecord), parked),
    isPlain: (message) => !needsOrder([toRecord(message)], parked),
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
 * A read or write of the parked-letters table. A transient failure (the database away) is retried
 * as the policy says, and 'fatal' (onFatal called, the record in hand unresolved) when it outlasts
 * it. Any other failure is not retried: the database refused this record (what it cannot store),
 * and stopping would only refuse it again at every restart. It is logged, and the caller goes on
 * without keeping this key's order.
 */
async function durably<T>(
  rule: BatchRule,
  payload: PartitionBatch,
  what: string,
  step: () => Promise<T>,
): Promise<{ value: T } | { refused: unknown } | 'fatal'> {
  try {
    return {
      value: await pRetry(step, {
        retries: rule.retry.maxAttempts - 1,
        minTimeout: rule.retry.baseDelayMs,
        maxTimeout: rule.retry.maxDelayMs,
        randomize: true,
        shouldRetry: ({ error }) => isTransient(error),
        onFailedAttempt: async ({ error, retriesLeft }) => {
          if (retriesLeft > 0 && isTransient(error)) await payload.heartbeat()
        },
      }),
    }
  } catch (cause) {
    // A failed heartbeat is kafkajs's to handle (it rejoins); the record stays unresolved.
    if (isKafkaFailure(cause)) throw cause
    if (!isTransient(cause)) {
      rule.log.error({ err: cause }, `could not ${what}: the database refused it; this record keeps no order`)
      return { refused: cause }
    }
    fatal(
      rule,
      new FatalConsumerError(
        'DATABASE_UNAVAILABLE',
        `could not ${what}; stopping so a restart resumes from the last commit`,
        { cause },
      ),
    )
    return 'fatal'
  }
}
