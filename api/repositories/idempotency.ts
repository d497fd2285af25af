import { and, eq } from 'drizzle-orm'
import type { Tx } from '../../db/client.ts'
import { idempotencyKeys } from '../../db/schema.ts'

export interface StoredResponse {
  statusCode: number
  body: unknown
}

type Claim = { claimed: true } | { claimed: false; requestHash: string; response: StoredResponse }

/**
 * Claims (scope, key) for this transaction. A concurrent request with the same key waits on the
 * primary key until this transaction ends, then sees its stored response (or claims the key
 * itself if this one rolled back).
 */
export async function claimIdempotencyKey(
  tx: Tx,
  scope: string,
  key: string,
  requestHash: string,
): Promise<Claim> {
  const inserted = await tx
    .insert(idempotencyKeys)
    .values({ scope, key, requestHash, statusCode: 0, responseBody: {}, createdAt: new Date() })
    .onConflictDoNothing()
    .returning({ key: idempotencyKeys.key })
  if (inserted.length > 0) return { claimed: true }
  const [existing] = await tx
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)))
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
    .where(and(eq(idempotencyKeys.scope, scope), eq(idempotencyKeys.key, key)))
}
