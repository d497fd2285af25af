import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { consoleUrl } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { loadConsoleConfig, prepareConsoleToken } from './console-config.ts'

describe('console config', () => {
  it('prints an address a browser can open, whatever it is bound to', () => {
    expect(consoleUrl('127.0.0.1', 3002)).toBe('http://127.0.0.1:3002/')
    expect(consoleUrl('0.0.0.0', 3002)).toBe('http://127.0.0.1:3002/')
    expect(consoleUrl('::', 3002)).toBe('http://127.0.0.1:3002/')
    expect(consoleUrl('fd00::2', 3002)).toBe('http://[fd00::2]:3002/')
  })

  it('takes the other names it answers to as host:port, and refuses anything else', () => {
    expect(
      loadConsoleConfig({ CONSOLE_ALLOWED_HOSTS: 'ops.local:3002, 10.0.0.5:3002' }).CONSOLE_ALLOWED_HOSTS,
    ).toEqual(['ops.local:3002', '10.0.0.5:3002'])
    expect(() => loadConsoleConfig({ CONSOLE_ALLOWED_HOSTS: 'ops.local' })).toThrow(/CONSOLE_ALLOWED_HOSTS/)
    expect(() => loadConsoleConfig({ CONSOLE_TOKEN: 'short' })).toThrow(/CONSOLE_TOKEN/)
  })

  it('hands the console the token npm start prints, whatever OUTBOX_CDC_CONSOLE_TOKEN the shell holds', () => {
    const before = process.env.OUTBOX_CDC_CONSOLE_TOKEN
    process.env.OUTBOX_CDC_CONSOLE_TOKEN = 'o'.repeat(40)
    try {
      expect(prepareConsoleToken({ CONSOLE_TOKEN: 'b'.repeat(40) })).toBe('b'.repeat(40))
      expect(process.env.OUTBOX_CDC_CONSOLE_TOKEN).toBe('b'.repeat(40))
      // No CONSOLE_TOKEN: the stack's secret, generated on first use, is the one the console gets.
      process.env.OUTBOX_CDC_CONSOLE_TOKEN = 'o'.repeat(40)
      const stackDir = mkdtempSync(join(tmpdir(), 'console-token-'))
      const generated = prepareConsoleToken({ STACK_DIR: stackDir })
      expect(generated).toHaveLength(48)
      expect(process.env.OUTBOX_CDC_CONSOLE_TOKEN).toBe(generated)
      expect(readFileSync(join(stackDir, 'secrets', 'console-token.password'), 'utf8').trim()).toBe(generated)
      rmSync(stackDir, { recursive: true, force: true })
    } finally {
      if (before === undefined) delete process.env.OUTBOX_CDC_CONSOLE_TOKEN
      else process.env.OUTBOX_CDC_CONSOLE_TOKEN = before
    }
  })
})
