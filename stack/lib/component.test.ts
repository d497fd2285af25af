import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type Component, ensureStarted, ensureStopped, recordFile } from './component.ts'
import { isOurs, type ProcessRecord, readRecord, startDetached, stopProcess } from './processes.ts'
import type { Reporter } from './report.ts'

const dir = mkdtempSync(join(tmpdir(), 'component-'))
const quiet = {
  info: () => {},
  step: async (_name: string, work: () => Promise<unknown>) => work(),
} as unknown as Reporter

/** A node process that sleeps, standing in for a JVM or an `npm start` (found by its marker). */
function sleeper(marker: string): ProcessRecord {
  const logFile = join(dir, `${marker}.log`)
  const pid = startDetached({
    command: process.execPath,
    args: ['-e', 'setTimeout(() => {}, 120_000)', marker],
    logFile,
    cwd: dir,
  })
  return { pid, marker, ports: [], logFile, startedAt: '' }
}

const component: Component = {
  name: 'kafka',
  dir: join(dir, 'kafka'),
  ports: [],
  prepare: async () => {},
  launch: () => ({
    command: process.execPath,
    args: ['-e', 'setTimeout(() => {}, 120_000)', 'fake-kafka'],
    marker: 'fake-kafka',
  }),
  probe: async () => true,
}

afterAll(async () => {
  await ensureStopped(component)
})

describe('who owns a component of the stack', () => {
  it('stack:up takes over what a killed npm start left running, so a later npm start does not stop it', async () => {
    const firstStart = sleeper('first-npm-start')
    const owner = (record: ProcessRecord) => ({ pid: record.pid, marker: record.marker })
    expect(await ensureStarted(component, quiet, 10_000, owner(firstStart))).toBe('started')
    // That npm start is killed outright: the component runs on, owned by nobody alive.
    await stopProcess(firstStart)
    expect(isOurs(readRecord(recordFile(component)))).toBe(true)

    // stack:up finds it running: from now on it is stack:up's, running until stack:down.
    expect(await ensureStarted(component, quiet, 10_000)).toBe('already-running')
    expect(readRecord(recordFile(component))?.owner).toBeUndefined()

    const laterStart = sleeper('later-npm-start')
    try {
      expect(await ensureStarted(component, quiet, 10_000, owner(laterStart))).toBe('already-running')
    } finally {
      await stopProcess(laterStart)
    }
  })
})
