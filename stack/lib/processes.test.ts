import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  isOurs,
  killProcessGroup,
  type ProcessRecord,
  startDetached,
  stopProcess,
  tailFile,
} from './processes.ts'

const dir = mkdtempSync(join(tmpdir(), 'proc-'))

function startSleeper(marker: string): ProcessRecord {
  const logFile = join(dir, `${marker}.log`)
  // The marker rides in argv, as `-Doutbox.stack.dir=…` does for the JVMs.
  const pid = startDetached({
    command: process.execPath,
    args: ['-e', "console.log('started'); setTimeout(() => {}, 60_000)", marker],
    logFile,
    cwd: dir,
  })
  return { pid, marker, ports: [], logFile, startedAt: new Date().toISOString() }
}

describe('processes the stack starts', () => {
  it('are recognised by pid and marker, and a pid without our marker is never ours', async () => {
    const record = startSleeper('marker-a')
    try {
      expect(isOurs(record)).toBe(true)
      expect(isOurs({ ...record, marker: 'someone-else' })).toBe(false)
    } finally {
      await stopProcess(record)
    }
  })

  it('stop on SIGTERM and are no longer ours afterwards', async () => {
    const record = startSleeper('marker-b')
    await expect(stopProcess(record)).resolves.toBe('stopped')
    expect(isOurs(record)).toBe(false)
  })

  it('are killed when they ignore SIGTERM past the grace period', async () => {
    const logFile = join(dir, 'stubborn.log')
    const pid = startDetached({
      command: 'sh',
      args: ['-c', "trap '' TERM; echo ready; while true; do sleep 0.1; done", 'marker-c'],
      logFile,
      cwd: dir,
    })
    const record = { pid, marker: 'marker-c', ports: [], logFile, startedAt: '' }
    await expect.poll(() => readFileSync(logFile, 'utf8')).toContain('ready')
    await expect(stopProcess(record, 300)).resolves.toBe('killed')
    expect(isOurs(record)).toBe(false)
  })

  it('write their output to the log whose tail error messages quote', async () => {
    const record = startSleeper('marker-d')
    await expect.poll(() => tailFile(record.logFile)).toBe('started')
    await stopProcess(record)
    writeFileSync(join(dir, 'long.log'), Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n'))
    expect(tailFile(join(dir, 'long.log'), 2)).toBe('line 48\nline 49')
    expect(tailFile(join(dir, 'missing.log'))).toBe('(no log written)')
  })

  it('die as a whole instance on killProcessGroup: the process and what it forked, with no SIGTERM first', async () => {
    const logFile = join(dir, 'family.log')
    // A parent that ignores SIGTERM and forks a child, as a postmaster forks its backends.
    const pid = startDetached({
      command: 'sh',
      args: ['-c', "trap 'echo TERM' TERM; sleep 60 & echo child $!; wait", 'marker-e'],
      logFile,
      cwd: dir,
    })
    const record = { pid, marker: 'marker-e', ports: [], logFile, startedAt: '' }
    await expect.poll(() => readFileSync(logFile, 'utf8')).toMatch(/child \d+/)
    const child = Number(/child (\d+)/.exec(readFileSync(logFile, 'utf8'))?.[1])
    const alive = (p: number) => {
      try {
        process.kill(p, 0)
        return !readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z ')
      } catch {
        return false
      }
    }
    expect(alive(child)).toBe(true)
    await killProcessGroup(record)
    expect(alive(pid)).toBe(false)
    expect(alive(child)).toBe(false)
    expect(readFileSync(logFile, 'utf8')).not.toContain('TERM')
  })
})
