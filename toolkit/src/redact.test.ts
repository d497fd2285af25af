import { describe, expect, it } from 'vitest'
import { redactText, redactUrl } from './redact.ts'

describe('redactText', () => {
  it('replaces the password of every URL in a text, keeping the user, host and path', () => {
    const text =
      'cannot reach Connect at http://admin:s3cret@127.0.0.1:9/x; db postgres://outbox:p%40ss@db:5432/outbox, ' +
      '{"url":"https://u:tok3n@h"}'
    const redacted = redactText(text)
    expect(redacted).not.toMatch(/s3cret|p%40ss|tok3n/)
    expect(redacted).toContain('http://admin:***@127.0.0.1:9/x')
    expect(redacted).toContain('postgres://outbox:***@db:5432/outbox')
    expect(redacted).toContain('"url":"https://u:***@h"')
  })

  it("masks the whole password when it holds an unencoded '@' (URL parsers and postgres.js accept one)", () => {
    const redacted = redactText('DATABASE_URL=postgres://u:p@ss@db.example:5432/x and http://a:b@c@h/')
    expect(redacted).not.toMatch(/p@ss|:b@c/)
    expect(redacted).toContain('postgres://u:***@db.example:5432/x')
    expect(redacted).toContain('http://a:***@h/')
  })

  it('leaves URLs without a password, ports and e-mail addresses as they are', () => {
    const text = 'http://127.0.0.1:18083 postgres://outbox@127.0.0.1:55432/outbox mail a@b.c at 10:30'
    expect(redactText(text)).toBe(text)
  })
})

describe('redactUrl', () => {
  // stack:status --json prints connect.url through here; scripts and tests compare it with the
  // URL they configured, so only the password may change, never the spelling.
  it('returns a URL without a password exactly as written (no trailing slash added)', () => {
    expect(redactUrl('http://127.0.0.1:18083')).toBe('http://127.0.0.1:18083')
    expect(redactUrl('http://127.0.0.1:18083/')).toBe('http://127.0.0.1:18083/')
    expect(redactUrl('postgres://outbox@127.0.0.1:55432/outbox')).toBe(
      'postgres://outbox@127.0.0.1:55432/outbox',
    )
  })

  it('masks the password and keeps the rest as written', () => {
    expect(redactUrl('http://admin:s3cret@127.0.0.1:18083')).toBe('http://admin:***@127.0.0.1:18083')
    expect(redactUrl('postgres://u:p@ss@db:5432/x')).toBe('postgres://u:***@db:5432/x')
  })
})
