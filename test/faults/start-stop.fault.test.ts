import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { findFreePortRun } from '../../stack/lib/ports.ts'
import { isOurs, readRecord } from '../../stack/lib/processes.ts'
import { listenAddresses, processesUnder } from '../support.ts'
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
  /**
   * Lines a person would read as trouble: a warning or error level from a service's JSON log or
   * kafkajs, a Node deprecation or warning, or a WARN/ERROR word in a plain line.
   */
  const noisyLines = (output: string) =>
    output
      .split('\n')
      .filter((line) =>
        /"level":(40|50|60)\b|"level":"(WARN|ERROR)"|\b(WARN|WARNING|ERROR)\b|Deprecation|\(node:\d+\)/.test(
          line,
        ),
      )
  /** Each component whose recorded process still runs, with its pid. */
  const componentsRunning = () =>
    ['postgres', 'kafka', 'connect'].flatMap((name) => {
      const record = readRecord(join(stackDir, name, 'process.json'))
      return record && isOurs(record) ? [{ name, pid: record.pid }] : []
    })
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

  it('starts quietly, on loopback alone, and says where things are; a later npm start takes over what a killed one left running, and Ctrl-C stops it all', {
    timeout: 420_000,
  }, async () => {
    const first = npmStart()
    await vi.waitFor(() => expect(first.output()).toContain('npm run smoke'), {
      timeout: 300_000,
      interval: 500,
    })
    // A healthy start says where everything is, and says it quietly: no deprecation, warning or
    // error line from any part, once every service has answered (nothing is muted for it: a
    // failing start still prints its error, below).
    await vi.waitFor(
      async () => {
        for (const port of [env.CONSUMER_HEALTH_PORT, env.FULFILMENT_HEALTH_PORT, env.CONSOLE_PORT]) {
          const path = port === env.CONSOLE_PORT ? '/' : '/health'
          expect((await fetch(`http://127.0.0.1:${port}${path}`)).status, `port ${port}`).toBe(200)
        }
      },
      { timeout: 120_000, interval: 500 },
    )
    const summary = first.output()
    expect(summary).toContain(`API docs: http://127.0.0.1:${env.API_PORT}/docs`)
    expect(summary).toMatch(new RegExp(`Ops console: http://127\\.0\\.0\\.1:${env.CONSOLE_PORT}/#token=`))
    expect(summary).toContain('`npm run smoke`')
    expect(noisyLines(summary), summary).toEqual([])
    // Nothing it starts can be reached from another machine unless told to: every service and
    // every component listens on loopback alone.
    const listening = Object.fromEntries(
      Object.entries({
        api: env.API_PORT,
        consumer: env.CONSUMER_HEALTH_PORT,
        fulfilment: env.FULFILMENT_HEALTH_PORT,
        console: env.CONSOLE_PORT,
        postgres: env.POSTGRES_PORT,
        kafka: env.KAFKA_PORT,
        'kafka controller': env.KAFKA_CONTROLLER_PORT,
        connect: env.CONNECT_PORT,
      }).map(([name, port]) => [name, listenAddresses(Number(port))]),
    )
    for (const [name, addresses] of Object.entries(listening))
      expect(addresses, `${name} listens on ${addresses.join(', ')}`).toEqual(['127.0.0.1'])

    // Killed outright, as a closed terminal or kill -9 would: no handler runs.
    if (first.child.pid) process.kill(-first.child.pid, 'SIGKILL')
    await first.exited
    expect(leftRunning().length).toBeGreaterThan(0)

    const second = npmStart()
    await vi.waitFor(() => expect(second.output()).toContain('npm run smoke'), {
      timeout: 300_000,
      interval: 500,
    })
    // Ctrl-C as a terminal sends it: to the whole process group, the services too, whose stop
    // the supervisor's SIGTERM then follows. Each stops cleanly (no forced exit, no error line).
    const before = second.output().length
    if (second.child.pid) process.kill(-second.child.pid, 'SIGINT')
    expect(await second.exited, second.output()).toBe(0)
    expect(noisyLines(second.output().slice(before)), second.output().slice(before)).toEqual([])
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
    // The components stack:up recorded, by pid: the folder may also hold a process that ends on
    // its own (a run compared every process under it and saw one of four gone after Ctrl-C).
    const running = componentsRunning()
    expect(running.map((c) => c.name)).toEqual(['postgres', 'kafka', 'connect'])
    const run = npmStart()
    await vi.waitFor(() => expect(run.output()).toContain('npm run smoke'), {
      timeout: 300_000,
      interval: 500,
    })
    run.child.kill('SIGINT')
    expect(await run.exited, run.output()).toBe(0)
    expect(run.output()).not.toMatch(/Stopping postgres|Stopping kafka|Stopping connect/)
    expect(componentsRunning()).toEqual(running)
  })

  it('prints its error when Connect cannot be reached, exit 1, and leaves the running stack alone', {
    timeout: 180_000,
  }, async () => {
    const running = componentsRunning()
    expect(running.map((c) => c.name)).toEqual(['postgres', 'kafka', 'connect'])
    const nowhere = await findFreePortRun(1)
    const run = npmStart({ CONNECT_URL: `http://127.0.0.1:${nowhere}` })
    expect(await run.exited, run.output()).toBe(1)
    expect(run.output()).toContain(`NOT_HEALTHY: External components are not usable:`)
    expect(run.output()).toMatch(
      new RegExp(`CONNECT_URL \\(http://127\\.0\\.0\\.1:${nowhere}/?\\) does not answer \\(.+\\)`),
    )
    expect(componentsRunning()).toEqual(running)
  })
})
