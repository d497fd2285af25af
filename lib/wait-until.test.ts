import { describe, expect, it } from 'vitest'
import { unlessTimedOut, WaitTimeoutError, waitUntil } from './wait-until.ts'

describe('waitUntil', () => {
  it('returns what the check returned once the condition holds, checking until then', async () => {
    let checks = 0
    const found = await waitUntil('the third check', () => (++checks === 3 ? { at: checks } : undefined), {
      timeoutMs: 5_000,
      intervalMs: 1,
    })
    expect(found).toEqual({ at: 3 })
    expect(checks).toBe(3)
  })

  it('counts 0 and empty strings as answers, not as "not yet"', async () => {
    expect(await waitUntil('a zero', () => 0, { timeoutMs: 100, intervalMs: 1 })).toBe(0)
    expect(await waitUntil('an empty string', async () => '', { timeoutMs: 100, intervalMs: 1 })).toBe('')
  })

  it('gives up after the timeout with a coded error naming what it awaited and how far it got', async () => {
    let applied = 0
    const waiting = waitUntil(
      'every event applied',
      () => {
        applied += 1
        return false
      },
      { timeoutMs: 50, intervalMs: 5, progress: () => `${applied} of 1000 applied` },
    )
    const error = await waiting.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WaitTimeoutError)
    expect(error).toMatchObject({ code: 'WAIT_TIMEOUT', retryable: false })
    expect((error as Error).message).toMatch(
      /^timed out after 50 ms waiting for every event applied \(\d+ of 1000 applied\)$/,
    )
    // It checked more than once: the interval, not the timeout, paces the checks.
    expect(applied).toBeGreaterThan(2)
  })

  it('lets a caller go on after a timeout, and only after a timeout', async () => {
    const timedOut = waitUntil('never', () => false, { timeoutMs: 10, intervalMs: 1 })
    await expect(timedOut.catch(unlessTimedOut)).resolves.toBeUndefined()
    const failed = waitUntil('a failing check', () => Promise.reject(new Error('refused')), {
      timeoutMs: 10,
      intervalMs: 1,
    })
    await expect(failed.catch(unlessTimedOut)).rejects.toThrow('refused')
  })

  it('ends the wait with the error a check throws', async () => {
    await expect(
      waitUntil(
        'a check that fails',
        () => {
          throw new Error('the database is gone')
        },
        { timeoutMs: 5_000, intervalMs: 1 },
      ),
    ).rejects.toThrow('the database is gone')
  })
})
