import { describe, expect, it } from 'vitest'
import { consoleUrl, loadConsoleConfig } from './config.ts'

describe('console config', () => {
  it('prints an address a browser can open, whatever it is bound to', () => {
    expect(consoleUrl({ CONSOLE_HOST: '127.0.0.1' }, 3002)).toBe('http://127.0.0.1:3002/')
    expect(consoleUrl({ CONSOLE_HOST: '0.0.0.0' }, 3002)).toBe('http://127.0.0.1:3002/')
    expect(consoleUrl({ CONSOLE_HOST: '::' }, 3002)).toBe('http://127.0.0.1:3002/')
    expect(consoleUrl({ CONSOLE_HOST: 'fd00::2' }, 3002)).toBe('http://[fd00::2]:3002/')
  })

  it('takes the other names it answers to as host:port, and refuses anything else', () => {
    expect(
      loadConsoleConfig({ CONSOLE_ALLOWED_HOSTS: 'ops.local:3002, 10.0.0.5:3002' }).CONSOLE_ALLOWED_HOSTS,
    ).toEqual(['ops.local:3002', '10.0.0.5:3002'])
    expect(() => loadConsoleConfig({ CONSOLE_ALLOWED_HOSTS: 'ops.local' })).toThrow(/CONSOLE_ALLOWED_HOSTS/)
    expect(() => loadConsoleConfig({ CONSOLE_TOKEN: 'short' })).toThrow(/CONSOLE_TOKEN/)
  })
})
