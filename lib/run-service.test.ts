import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { describeFailure } from './run-service.ts'
import { tsxArgs } from './supervisor.ts'

// Each test runs lib/run-service.child.ts as a real node process and sends it real signals: the
// forced exit and the exit codes are process.exit calls, which only a real process shows.
const child = fileURLToPath(new URL('./run-service.child.ts', import.meta.url))
const running: ChildProcess[] = []

function runChild(env: Record<string, string>) {
  const proc = spawn(process.execPath, tsxArgs(child), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.push(proc)
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  proc.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  return {
    lines: () => stdout.split('\n').filter(Boolean),
    stderr: () => stderr,
    /** Waits until the child has printed `line` (tsx's start-up takes a second or two). */
    printed: (line: string) =>
      vi.waitFor(() => expect(stdout.split('\n')).toContain(line), { timeout: 15_000, interval: 20 }),
    signal: (signal: NodeJS.Signals) => proc.kill(signal),
    exit: async () => {
      const [code, signal] = await exited
      return { code, signal }
    },
  }
}

afterEach(() => {
  for (const proc of running.splice(0)) if (proc.exitCode === null) proc.kill('SIGKILL')
})

describe('runService', { timeout: 30_000 }, () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('stops the service on %s and exits 0', async (signal) => {
    const service = runChild({ STOP_MS: '50' })
    await service.printed('started')
    service.signal(signal)
    expect(await service.exit()).toEqual({ code: 0, signal: null })
    expect(service.lines()).toEqual(['starting', 'started', `signal ${signal}`, 'stopping', 'stopped'])
  })

  it('exits anyway when the stop outlasts the timeout, with the forced exit code', async () => {
    const service = runChild({ STOP_MS: 'never', STOP_TIMEOUT_MS: '300', FORCED_EXIT_CODE: '1' })
    await service.printed('started')
    service.signal('SIGTERM')
    expect(await service.exit()).toEqual({ code: 1, signal: null })
    expect(service.lines().slice(-2)).toEqual(['stopping', 'forced timeout'])
  })

  it('exits with the code the stop was for when no forced exit code is given', async () => {
    const service = runChild({ STOP_MS: 'never', STOP_TIMEOUT_MS: '300' })
    await service.printed('started')
    service.signal('SIGTERM')
    expect(await service.exit()).toEqual({ code: 0, signal: null })
    expect(service.lines()).toContain('forced timeout')
  })

  it('exits at once on the same signal a second time (Ctrl-C, Ctrl-C), long before the stop timeout', async () => {
    // The timeout (60 s) is past this test's own: only the second signal can end the process in time.
    const service = runChild({ STOP_MS: 'never', STOP_TIMEOUT_MS: '60000', FORCED_EXIT_CODE: '1' })
    await service.printed('started')
    service.signal('SIGINT')
    await service.printed('stopping')
    // A person's second Ctrl-C: the same signal, a moment later (the input here is the gap itself).
    await delay(600)
    service.signal('SIGINT')
    expect(await service.exit()).toEqual({ code: 1, signal: null })
    expect(service.lines().slice(-1)).toEqual(['forced SIGINT'])
  })

  it('finishes its stop when one SIGTERM reaches it twice at once (a group SIGTERM, then its supervisor)', async () => {
    const service = runChild({ STOP_MS: '300', FORCED_EXIT_CODE: '1' })
    await service.printed('started')
    service.signal('SIGTERM')
    await service.printed('stopping')
    service.signal('SIGTERM')
    expect(await service.exit()).toEqual({ code: 0, signal: null })
    expect(service.lines()).toEqual(['starting', 'started', 'signal SIGTERM', 'stopping', 'stopped'])
  })

  it("finishes its stop when a terminal's SIGINT is followed by its supervisor's SIGTERM", async () => {
    // npm start: Ctrl-C reaches the whole process group, then the supervisor sends SIGTERM.
    const service = runChild({ STOP_MS: '300', FORCED_EXIT_CODE: '1' })
    await service.printed('started')
    service.signal('SIGINT')
    await service.printed('stopping')
    service.signal('SIGTERM')
    expect(await service.exit()).toEqual({ code: 0, signal: null })
    expect(service.lines()).toEqual(['starting', 'started', 'signal SIGINT', 'stopping', 'stopped'])
  })

  it('stops a service that asks to exit, with its code', async () => {
    const service = runChild({ EXIT_AFTER_START: '1', STOP_MS: '50' })
    expect(await service.exit()).toEqual({ code: 1, signal: null })
    expect(service.lines()).toEqual(['starting', 'started', 'stopping', 'stopped'])
  })

  it('stops a service signalled while it starts, and exits 0', async () => {
    const service = runChild({ START_MS: 'never', STOP_MS: '0' })
    await service.printed('starting')
    service.signal('SIGTERM')
    expect(await service.exit()).toEqual({ code: 0, signal: null })
    expect(service.lines()).toEqual(['starting', 'signal SIGTERM', 'stopping', 'stopped'])
  })

  it('prints a coded start-up failure as one line and exits 1', async () => {
    const service = runChild({ FAIL_BUILD: 'coded' })
    expect(await service.exit()).toEqual({ code: 1, signal: null })
    expect(service.stderr().trim()).toBe('CONFIG_INVALID: the config names no database')
  })

  it('prints any other start-up failure in full, stack and all, and exits 1', async () => {
    const service = runChild({ FAIL_BUILD: 'plain' })
    expect(await service.exit()).toEqual({ code: 1, signal: null })
    expect(service.stderr()).toMatch(/Error: something unexpected\n\s+at /)
  })
})

describe('describeFailure', () => {
  it('gives a coded error as CODE: message and anything else as it is', () => {
    const coded = Object.assign(new Error('refused'), { code: 'E_REFUSED' })
    const plain = new Error('boom')
    expect(describeFailure(coded)).toBe('E_REFUSED: refused')
    expect(describeFailure(plain)).toBe(plain)
    expect(describeFailure('a string')).toBe('a string')
    // kafkajs's errors have a code that is undefined or a number: not ours, shown in full.
    const kafkajs = Object.assign(new Error('Connection error: connect ECONNREFUSED'), { code: undefined })
    const numbered = Object.assign(new Error('The coordinator is loading'), { code: 14 })
    expect(describeFailure(kafkajs)).toBe(kafkajs)
    expect(describeFailure(numbered)).toBe(numbered)
  })
})
