import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redactUrl } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { ensureSecret, readSecret, secretFile } from './secrets.ts'

describe('local stack secrets', () => {
  it('are generated once, kept private to the owner, and stable across calls', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sec-')), 'secrets')
    expect(readSecret(dir, 'db')).toBeUndefined()
    const first = ensureSecret(dir, 'db')
    expect(first).toMatch(/^[0-9a-f]{48}$/)
    expect(ensureSecret(dir, 'db')).toBe(first)
    expect(readSecret(dir, 'db')).toBe(first)
    expect(statSync(secretFile(dir, 'db')).mode & 0o777).toBe(0o600)
  })

  it('never reach printed URLs', () => {
    expect(redactUrl('postgres://outbox:s3cret@127.0.0.1:55432/outbox')).toBe(
      'postgres://outbox:***@127.0.0.1:55432/outbox',
    )
    expect(redactUrl('postgres://outbox@127.0.0.1:55432/outbox')).toBe(
      'postgres://outbox@127.0.0.1:55432/outbox',
    )
  })
})
