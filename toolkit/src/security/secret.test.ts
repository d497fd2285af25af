import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { redactText } from '../redact.ts'
import { readSecret, secretRefSchema } from './secret.ts'

const dir = mkdtempSync(join(tmpdir(), 'secret-test-'))

describe('secrets', () => {
  it('reads one from a file (a trailing newline dropped) or from the environment', () => {
    const file = join(dir, 'password')
    writeFileSync(file, 'from-a-file\n')
    expect(readSecret({ file }, 'the Kafka password', {})).toBe('from-a-file')
    expect(readSecret({ env: 'MY_PASSWORD' }, 'the Kafka password', { MY_PASSWORD: 'from-env' })).toBe(
      'from-env',
    )
  })

  it('refuses a password written in the config: it must name a variable or a file', () => {
    const parsed = secretRefSchema.safeParse('s3cret')
    expect(parsed.success).toBe(false)
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/\{ env: NAME \} or \{ file: path \}/)
    expect(JSON.stringify(parsed.error?.issues)).not.toContain('s3cret')
  })

  it('says which secret is missing and where it looked, never a value', () => {
    expect(() => readSecret({ env: 'NOT_SET_ANYWHERE' }, 'the Kafka password', {})).toThrow(
      /the Kafka password: the environment variable NOT_SET_ANYWHERE is not set/,
    )
    expect(() => readSecret({ file: join(dir, 'missing') }, 'the Connect password', {})).toThrow(
      /the Connect password: cannot read .*missing/,
    )
    const empty = join(dir, 'empty')
    writeFileSync(empty, '\n')
    expect(() => readSecret({ file: empty }, 'the Connect password', {})).toThrow(/is empty/)
  })

  it('masks every secret it has read in any text that is printed afterwards', () => {
    readSecret({ env: 'P' }, 'a password', { P: 'pa55-w0rd+/=' })
    expect(redactText('SASL failed for user x with pa55-w0rd+/= at broker')).toBe(
      'SASL failed for user x with *** at broker',
    )
  })
})
