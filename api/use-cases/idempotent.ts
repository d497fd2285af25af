import { createHash } from 'node:crypto'
import type { Db, Tx } from '../../db/client.ts'
import { ApiError } from '../errors.ts'
import { claimIdempotencyKey, saveIdempotentResponse } from '../repositories/idempotency.ts'
import type { Outcome } from './outcome.ts'

export interface Idempotency {
  scope: string
  key: string | undefined
  /** The validated request body; its canonical JSON is what "the same body" means. */
  body: unknown
  /** How long a key replays its response; a key first used longer ago is a new request. */
  keyTtlHours: number
}

/** How long an Idempotency-Key replays when the caller does not say (IDEMPOTENCY_KEY_TTL_HOURS). */
export const defaultIdempotencyKeyTtlHours = 24

/** JSON with keys sorted at every level, so `{a,b}` and `{b,a}` hash the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/**
 * Runs `work` in one transaction together with the Idempotency-Key bookkeeping: the first request
 * with a key does the work and stores its response in the same transaction; a retry with the same
 * key and body gets that response back and writes nothing; the same key with another body is an
 * error. Failed requests store nothing, so a retry after a 409 runs again. All of this holds for
 * `keyTtlHours` after the key's first use; after that the key is a new request. A replay returns
 * no events: it appended none.
 */
export async function runIdempotent(
  db: Db,
  idempotency: Idempotency,
  work: (tx: Tx) => Promise<Outcome>,
): Promise<Outcome & { replayed: boolean }> {
  const { scope, key } = idempotency
  return db.transaction(async (tx) => {
    if (key === undefined) return { ...(await work(tx)), replayed: false }
    const requestHash = createHash('sha256').update(canonicalJson(idempotency.body)).digest('hex')
    const claim = await claimIdempotencyKey(tx, scope, key, requestHash, idempotency.keyTtlHours)
    if (!claim.claimed) {
      if (claim.requestHash !== requestHash) {
        throw new ApiError(
          'IDEMPOTENCY_KEY_REUSED',
          'This Idempotency-Key was already used with a different request body; use a new key for a new request.',
        )
      }
      return { ...claim.response, events: [], replayed: true }
    }
    const outcome = await work(tx)
    await saveIdempotentResponse(tx, scope, key, { statusCode: outcome.statusCode, body: outcome.body })
    return { ...outcome, replayed: false }
  })
}
