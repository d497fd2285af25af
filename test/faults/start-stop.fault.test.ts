import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { processesUnder } from '../support.ts'
import { mainConfig, ownStackEnv, pipelinePorts, tsx } from './own-stack.ts'

/**
 * `npm start` owns what it starts, on every way out: Ctrl-C while the stack is still coming up, a
 * step that fails, and a later `npm start` after one that was killed outright. Each run is on a
 * stack folder of its own (Postgres, Kafka and Connect started from nothing), so nothing another
 * suite uses is touched; what is left running is read from /proc, by the folder's path.
 */
describe.skipIf(mainConfig.env.STACK_MODE !== 'native')('npm start stops what it started', async () => {
  const stackDir = mkdtempSync(join(tmpdir(), 'outbox-start-'))
  const { ports } = await pipelinePorts()
  const env = ownStackEnv(stackDir, ports)
  const started: ChildProcess[] = []

  /** `npm start` as a user runs it, in a process group of its own (a terminal's job). */
  const npmStart = (extra: Record<string, string> = {}) => {
    const child = spawn(tsx, [join(repoRoot, 'scripts', 'start.ts')], {
      env: { ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    started.push(child)
    let output = ''
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    return { child, exited, output: () => output }
  }
  const leftRunning = () => processesUnder(stackDir)
  const untilNothingRuns = () =>
    vi.waitFor(() => expect(leftRunning()).toEqual([]), { timeout: 60_000, interval: 500 })

  afterAll(() => {
    for (const child of started) {
      if (child.exitCode !== null || child.signalCode !== null || !child.pid) continue
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // Gone between the look and the kill.
      }
    }
    spawnSync(tsx, [join(repoRoot, 'scripts', 'stack-down.ts'), '--purge'], { env, timeout: 120_000 })
    rmSync(stackDir, { recursive: true, force: true })
  }, 180_000)

  it('Ctrl-C while the stack is still starting stops Postgres and Kafka, and Connect mid-start', {
    timeout: 300_000,
  }, async () => {
    const run = npmStart()
    // Postgres and Kafka are up, Connect is on its way.
    await vi.waitFor(() => expect(run.output()).toMatch(/▸ connect/), { timeout: 240_000, interval: 200 })
    expect(leftRunning().length).toBeGreaterThan(0)
    run.child.kill('SIGINT')
    expect(await run.exited, run.output()).not.toBeNull()
    await untilNothingRuns()
  })

  it('a step that fails (a connector whose task cannot start) stops the stack it brought up, exit 1', {
    timeout: 300_000,
  }, async () => {
    // No such publication, and the connector may not create one: its task FAILs at once.
    const run = npmStart({ CONNECTOR_PUBLICATION: 'no_such_publication' })
    expect(await run.exited, run.output()).toBe(1)
    await untilNothingRuns()
  })

  it('a later npm start takes over what a killed one left running, and Ctrl-C stops it all', {
    timeout: 420_000,
  }, async () => {
    const first = npmStart()
    await vi.waitFor(() => expect(first.output()).toContain('npm run smoke'), {
      timeout: 300_000,
      interval: 500,
    })
    // Killed outright, as a closed terminal or kill -9 would: no handler runs.
    if (first.child.pid) process.kill(-first.child.pid, 'SIGKILL')
    await first.exited
    expect(leftRunning().length).toBeGreaterThan(0)

    const second = npmStart()
    await vi.waitFor(() => expect(second.output()).toContain('npm run smoke'), {
      timeout: 300_000,
      interval: 500,
    })
    second.child.kill('SIGINT')
    expect(await second.exited, second.output()).toBe(0)
    await untilNothingRuns()
  })

  it('leaves running a stack that stack:up started, when Ctrl-C stops the npm start that used it', {
    timeout: 420_000,
  }, async () => {
    const up = spawnSync(tsx, [join(repoRoot, 'scripts', 'stack-up.ts')], {
      env,
      encoding: 'utf8',
      timeout: 300_000,
    })
    expect(up.status, `${up.stdout}${up.stderr}`).toBe(0)
    const running = leftRunning()
    const run = npmStart()
    await vi.waitFor(() => expect(run.output()).toContain('npm run smoke'), {
      timeout: 300_000,
      interval: 500,
    })
    run.child.kill('SIGINT')
    expect(await run.exited, run.output()).toBe(0)
    expect(run.output()).not.toMatch(/Stopping postgres|Stopping kafka|Stopping connect/)
    expect(leftRunning()).toEqual(running)
  })
})
