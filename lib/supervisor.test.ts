import { tmpdir } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createSupervisor,
  type RestartPolicy,
  restartDelayMs,
  type ServiceExit,
  type Supervisor,
} from './supervisor.ts'

// Real node processes, each a line of JavaScript: what a service does when it exits or is signalled.
const exitsAt = (afterMs: number, code = 3) => ({
  args: ['-e', `setTimeout(() => process.exit(${code}), ${afterMs})`],
  env: {},
})
const runsUntilKilled = {
  args: [
    '-e',
    "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 300)); console.log('ready'); setInterval(() => {}, 1000)",
  ],
  env: {},
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let supervisor: Supervisor | undefined
afterEach(async () => {
  await supervisor?.stop('SIGKILL')
  supervisor = undefined
})

function supervise(policy: Partial<RestartPolicy>) {
  const exits: (ServiceExit & { at: number })[] = []
  const lines: string[] = []
  supervisor = createSupervisor({
    cwd: tmpdir(),
    policy,
    output: { line: (_name, line) => lines.push(line) },
    onExit: (_name, exit) => exits.push({ ...exit, at: performance.now() }),
  })
  return { supervisor, exits, lines }
}

describe('restartDelayMs', () => {
  it('doubles from the initial delay up to the cap', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 500, healthyAfterMs: 1000, maxRestarts: 10 }
    expect([1, 2, 3, 4, 5].map((n) => restartDelayMs(n, policy))).toEqual([100, 200, 400, 500, 500])
  })
})

// Each case starts real node processes, several in a row; on two cores busy with the integration
// suite's JVMs a start can take a second, so the cases get the time their own waits allow.
describe('supervisor', { timeout: 60_000 }, () => {
  it('starts a service again after it exits on its own, waiting longer each time in a row', async () => {
    const { supervisor, exits } = supervise({ initialDelayMs: 40, maxDelayMs: 160, healthyAfterMs: 60_000 })
    supervisor.start('svc', exitsAt(0))
    await vi.waitFor(() => expect(exits.length).toBeGreaterThanOrEqual(5), { timeout: 20_000 })
    expect(exits.slice(0, 5).map((e) => [e.code, e.restart, e.delayMs])).toEqual([
      [3, 1, 40],
      [3, 2, 80],
      [3, 3, 160],
      [3, 4, 160],
      [3, 5, 160],
    ])
    // The waits really happen: each exit comes at least its restart delay after the one before.
    for (let i = 1; i < 5; i += 1) {
      const previous = exits[i - 1] as ServiceExit & { at: number }
      expect((exits[i]?.at ?? 0) - previous.at).toBeGreaterThanOrEqual((previous.delayMs ?? 0) - 2)
    }
    expect(supervisor.unexpectedExits).toBeGreaterThanOrEqual(5)
  })

  it('starts again from the initial delay after a healthy run', async () => {
    const { supervisor, exits } = supervise({ initialDelayMs: 20, maxDelayMs: 1000, healthyAfterMs: 100 })
    supervisor.start('svc', exitsAt(200))
    await vi.waitFor(() => expect(exits.length).toBeGreaterThanOrEqual(3), { timeout: 20_000 })
    expect(exits.slice(0, 3).map((e) => [e.restart, e.delayMs])).toEqual([
      [1, 20],
      [1, 20],
      [1, 20],
    ])
  })

  it('gives up after maxRestarts exits in a row, and a restart() brings it back', async () => {
    const { supervisor, exits } = supervise({ initialDelayMs: 10, healthyAfterMs: 60_000, maxRestarts: 2 })
    supervisor.start('svc', exitsAt(0))
    await vi.waitFor(() => expect(exits.length).toBe(3), { timeout: 20_000 })
    expect(exits.map((e) => e.delayMs)).toEqual([10, 20, undefined])
    expect(supervisor.pidOf('svc')).toBeUndefined()

    supervisor.restart('svc')
    // The service exits again at once and restarts every 10 ms, so by the time the poll looks
    // there may be more exits than the fourth: the fourth is the one restart() brought about.
    await vi.waitFor(() => expect(exits.length).toBeGreaterThanOrEqual(4), { timeout: 20_000 })
    expect(exits[3]).toMatchObject({ restart: 1, delayMs: 10 })
  })

  it('kill() takes the service out of supervision and resolves only once the process has exited', async () => {
    const { supervisor, lines, exits } = supervise({ initialDelayMs: 10 })
    supervisor.start('svc', runsUntilKilled)
    await vi.waitFor(() => expect(lines).toContain('ready'), { timeout: 20_000 })
    const pid = supervisor.pidOf('svc') as number
    const started = performance.now()
    await supervisor.kill('svc', 'SIGTERM')
    // The service takes 300 ms to exit on SIGTERM; kill waited for it.
    expect(performance.now() - started).toBeGreaterThanOrEqual(250)
    expect(alive(pid)).toBe(false)
    await delay(200)
    expect(supervisor.pidOf('svc')).toBeUndefined()
    expect(exits).toEqual([])

    supervisor.restart('svc')
    expect(supervisor.pidOf('svc')).toBeDefined()
    expect(supervisor.pidOf('svc')).not.toBe(pid)
  })

  it('a SIGSTOPped service still stops on kill(SIGTERM)', async () => {
    const { supervisor, lines } = supervise({})
    supervisor.start('svc', runsUntilKilled)
    await vi.waitFor(() => expect(lines).toContain('ready'), { timeout: 20_000 })
    const pid = supervisor.pidOf('svc') as number
    supervisor.signal('svc', 'SIGSTOP')
    await supervisor.kill('svc', 'SIGTERM')
    expect(alive(pid)).toBe(false)
  })

  it('stop() ends every service and restarts nothing, not even a restart that was due', async () => {
    const { supervisor, exits, lines } = supervise({ initialDelayMs: 200, healthyAfterMs: 60_000 })
    supervisor.start('quitter', { args: ['-e', "console.log('quitter started'); process.exit(3)"], env: {} })
    supervisor.start('worker', runsUntilKilled)
    await vi.waitFor(() => expect(exits.length).toBe(1), { timeout: 20_000 })
    await vi.waitFor(() => expect(lines).toContain('ready'), { timeout: 20_000 })
    const worker = supervisor.pidOf('worker') as number
    await supervisor.stop()
    expect(alive(worker)).toBe(false)
    // Past the quitter's 200 ms restart delay: it was never started again.
    await delay(400)
    expect(lines.filter((line) => line === 'quitter started')).toHaveLength(1)
    expect(exits.length).toBe(1)
    expect(supervisor.pidOf('quitter')).toBeUndefined()
    expect(supervisor.pidOf('worker')).toBeUndefined()
    expect(() => supervisor.start('late', runsUntilKilled)).toThrow(/stopping/)
  })

  it('refuses to start a second process under a name that runs', async () => {
    const { supervisor } = supervise({})
    supervisor.start('svc', runsUntilKilled)
    expect(() => supervisor.start('svc', runsUntilKilled)).toThrow(/already running/)
  })
})
