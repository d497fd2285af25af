import { and, eq, type Placeholder, sql } from 'drizzle-orm'
import type { DbOrTx, Tx } from '../../db/client.ts'
import { idempotencyKeys } from '../../db/schema.ts'

export interface StoredResponse {
  statusCode: number
  body: unknown
}

type Claim = { claimed: true } | { claimed: false; requestHash: string; response: StoredResponse }

/** `now() - ttl` on the database clock, the one clock every API instance shares. */
const ageLimit = (keyTtlSeconds: number | Placeholder) => sql`now() - make_interval(secs => ${keyTtlSeconds})`

/**
 * Claims (scope, key) for this transaction. A concurrent request with the same key waits on the
 * primary key until this transaction ends, then sees its stored response (or claims the key
 * itself if this one rolled back). A key first used more than `keyTtlHours` ago (database clock,
 * at the start of this transaction) has expired: it is claimed again, as if new, and the row is
 * locked by the claim so a concurrent retry waits for the new response.
 */
export async function claimIdempotencyKey(
  tx: Tx,
  scope: string,
  key: string,
  requestHash: string,
  keyTtlHours: number,
): Promise<Claim> {
  const claim = {
    requestHash: sql.placeholder('requestHash'),
    statusCode: 0,
    responseBody: {},
    createdAt: sql`now()`,
  }
  const inserted = await tx
    .insert(idempotencyKeys)
    .values({ scope: sql.placeholder('scope'), key: sql.placeholder('key'), ...claim })
    .onConflictDoUpdate({
      target: [idempotencyKeys.scope, idempotencyKeys.key],
      set: { ...claim, requestHash: sql`${sql.placeholder('requestHash')}` },
      setWhere: sql`${idempotencyKeys.createdAt} < ${ageLimit(sql.placeholder('keyTtlSeconds'))}`,
    })
    .returning({ key: idempotencyKeys.key })
    .prepare('claim_idempotency_key')
    .execute({ scope, key, requestHash, keyTtlSeconds: keyTtlHours * 3600 })
  if (inserted.length > 0) return { claimed: true }
  const [existing] = await tx
    .select()
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.scope, sql.placeholder('scope')),
        eq(idempotencyKeys.key, sql.placeholder('key')),
      ),
    )
    .prepare('find_idempotency_key')
    .execute({ scope, key })
  if (!existing) throw new Error(`idempotency key ${scope}/${key} conflicted but cannot be read`)
  return {
    claimed: false,
    requestHash: existing.requestHash,
    response: { statusCode: existing.statusCode, body: existing.responseBody },
  }
}

export async function saveIdempotentResponse(tx: Tx, scope: string, key: string, response: StoredResponse) {
  await tx
    .update(idempotencyKeys)
    .set({ statusCode: response.statusCode, responseBody: response.body })
    .where(
      and(
        eq(idempotencyKeys.scope, sql.placeholder('scope')),
        eq(idempotencyKeys.key, sql.placeholder('key')),
      ),
    )
    .prepare('save_idempotent_response')
    .execute({ scope, key })
}

/**
 * Deletes up to `limit` keys first used more than `olderThanHours` ago, oldest first, in one
 * short statement; returns how many. A key whose transaction is in flight is never deleted: a new
 * claim is not visible yet, and a key being claimed again is locked, which SKIP LOCKED passes over.
 */
export async function deleteExpiredIdempotencyKeys(
  db: DbOrTx,
  olderThanHours: number,
  limit: number,
): Promise<number> {
  const deleted = await db.execute(sql`
    delete from ${idempotencyKeys} where (scope, key) in (
      select scope, key from ${idempotencyKeys}
      where created_at < ${ageLimit(olderThanHours * 3600)}
      order by created_at limit ${limit}
      for update skip locked)
    returning 1`)
  return deleted.length
}
