import { describe, expect, it } from 'vitest'
import { ConfigError } from '../lib/config.ts'
import { loadApiConfig } from './config.ts'

const url = 'postgres://app:pw@127.0.0.1:5432/app'

describe('loadApiConfig: Idempotency-Key expiry', () => {
  it('keeps a key replayable for 24 hours and cleans up every 5 minutes by default', () => {
    expect(loadApiConfig({ DATABASE_URL: url })).toMatchObject({
      IDEMPOTENCY_KEY_TTL_HOURS: 24,
      IDEMPOTENCY_CLEANUP_INTERVAL_S: 300,
    })
  })

  it('takes a fractional TTL in hours from the environment', () => {
    expect(
      loadApiConfig({ DATABASE_URL: url, IDEMPOTENCY_KEY_TTL_HOURS: '0.5' }).IDEMPOTENCY_KEY_TTL_HOURS,
    ).toBe(0.5)
  })

  it('refuses to start on a TTL that is not a positive number of hours, naming every bad variable', () => {
    const load = () =>
      loadApiConfig({
        DATABASE_URL: url,
        IDEMPOTENCY_KEY_TTL_HOURS: '0',
        IDEMPOTENCY_CLEANUP_INTERVAL_S: 'x',
      })
    expect(load).toThrow(ConfigError)
    expect(load).toThrow(/IDEMPOTENCY_KEY_TTL_HOURS[\s\S]*IDEMPOTENCY_CLEANUP_INTERVAL_S/)
  })
})
