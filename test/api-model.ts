import { expect } from 'vitest'
import { freshKey, type GeneratedBody, type KeyChoice } from './api-arbitraries/requests.ts'
import { expectNothingWritten, plain, type Sent } from './api-harness.ts'

export type Headers = Record<string, string>
export interface Expected {
  status: number
  /** The error code a refusal must carry. */
  error?: string
  /** The stored response a replay must return. */
  replay?: unknown
}

/** Equal as the API compares bodies: field by field after parsing (-0 is 0). */
export const sameValues = (a: Record<string, unknown>, b: Record<string, unknown>) =>
  Object.keys(a).every((k) => Object.is(plain(a[k]), plain(b[k])))

/**
 * The test's model of the Idempotency-Key promise: which key the server stored for which body
 * and response (within the TTL, which no test here reaches), and so what each write must get.
 */
export function createIdempotencyModel() {
  const stored = new Map<string, { values: Record<string, unknown>; body: unknown }>()
  const id = (scope: string, key: string) => `${scope}\n${key}`

  return {
    headersFor(key: KeyChoice): Headers {
      if (key.kind === 'none') return {}
      return { 'idempotency-key': key.kind === 'fresh' ? freshKey(key.length) : key.key }
    },

    /**
     * What a write must get before any business rule: 400 for a malformed key or body, a replay
     * or 422 for a key already stored, else undefined (the write runs).
     */
    outcome(scope: string, headers: Headers, body: GeneratedBody): Expected | undefined {
      const key = headers['idempotency-key']
      const invalid = { status: 400, error: 'VALIDATION_FAILED' }
      if (key !== undefined && !/^[\x21-\x7e]{1,255}$/.test(key)) return invalid
      if (!body.valid) return invalid
      const previous = key === undefined ? undefined : stored.get(id(scope, key))
      if (!previous) return undefined
      return sameValues(previous.values, body.values)
        ? { status: 201, replay: previous.body }
        : { status: 422, error: 'IDEMPOTENCY_KEY_REUSED' }
    },

    /** The server stored `key` for `body` with this response (a write that ran, with a key). */
    remember(scope: string, key: string, values: Record<string, unknown>, body: unknown) {
      stored.set(id(scope, key), { values, body })
    },

    /**
     * Checks a write's answer against `expected`: a refusal or a replay writes nothing; a write
     * that ran stores its key. Returns true when it ran (201, not replayed).
     */
    checkWrite(sent: Sent, scope: string, headers: Headers, body: GeneratedBody, expected: Expected) {
      expect(sent.status, `${scope} ${body.json} → ${sent.response.body}`).toBe(expected.status)
      if (expected.status !== 201) {
        expectNothingWritten(sent)
        if (expected.error) expect(sent.body.error).toBe(expected.error)
        return false
      }
      if (expected.replay !== undefined) {
        expect(sent.response.headers['idempotent-replayed']).toBe('true')
        expect(sent.body).toEqual(expected.replay)
        expectNothingWritten(sent)
        return false
      }
      expect(sent.response.headers['idempotent-replayed']).toBeUndefined()
      const key = headers['idempotency-key']
      expect(sent.after.keys - sent.before.keys, 'one key stored per keyed write').toBe(
        key === undefined ? 0 : 1,
      )
      if (key !== undefined) this.remember(scope, key, body.values, sent.body)
      return true
    },
  }
}
