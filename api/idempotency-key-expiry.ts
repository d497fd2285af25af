import { setTimeout as delay } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { Db } from '../db/client.ts'
import { deleteExpiredIdempotencyKeys } from './repositories/idempotency.ts'

/**
 * The cleanup deletes a key this long after it has expired, not at once: a request claims keys by
 * the time its transaction started, so a retry that began just inside the TTL still finds (and
 * replays) its key even if the cleanup runs a moment later.
 */
export const expiryGraceHours = 1 / 60

/** Keys per DELETE: each statement stays short and locks few rows. */
export const defaultExpiryBatchSize = 500

/**
 * Deletes every expired key, `batchSize` at a time, each batch its own statement; returns how
 * many. Safe beside live traffic: see deleteExpiredIdempotencyKeys.
 */
export async function expireIdempotencyKeys(
  db: Db,
  options: { keyTtlHours: number; batchSize?: number },
): Promise<number> {
  const batchSize = options.batchSize ?? defaultExpiryBatchSize
  let total = 0
  for (;;) {
    const deleted = await deleteExpiredIdempotencyKeys(db, options.keyTtlHours + expiryGraceHours, batchSize)
    total += deleted
    if (deleted < batchSize) return total
  }
}

export interface IdempotencyKeyExpiry {
  /** Stops the schedule and waits for a run in progress, so the pool can close after it. */
  stop(): Promise<void>
}

/**
 * Runs expireIdempotencyKeys every `intervalMs` until stopped. A failed run is logged and the
 * next one retries after the interval: the keys stay where they were, so nothing is lost by
 * waiting, and a database outage does not become a hot loop.
 */
export function startIdempotencyKeyExpiry(options: {
  db: Db
  keyTtlHours: number
  intervalMs: number
  batchSize?: number
  log?: FastifyBaseLogger
  onExpired?: (count: number) => void
}): IdempotencyKeyExpiry {
  let state: 'running' | 'stopping' | 'stopped' = 'running'
  const stopSignal = new AbortController()
  const loop = (async () => {
    while (state === 'running') {
      try {
        await delay(options.intervalMs, undefined, { signal: stopSignal.signal })
      } catch {
        break // stopped while waiting
      }
      try {
        const count = await expireIdempotencyKeys(options.db, options)
        if (count > 0) options.log?.info({ count }, 'expired idempotency keys deleted')
        options.onExpired?.(count)
      } catch (error) {
        options.log?.warn({ err: error }, 'deleting expired idempotency keys failed; retrying next interval')
      }
    }
    state = 'stopped'
  })()
  return {
    async stop() {
      if (state === 'running') state = 'stopping'
      stopSignal.abort()
      await loop
    },
  }
}
