import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../../stack/lib/config.ts'
import { type ProcessSample, parseStat, tallyByComponent } from './cpu-attribution.ts'

export { type ProcessSample, parseStat, tallyByComponent } from './cpu-attribution.ts'

/** Clock ticks per second of /proc's times (USER_HZ, 100 on every Linux we run on). */
const ticksPerS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** The postmaster's pid: the first line of `postmaster.pid` in the rig's data dir; undefined when absent. */
export function postmasterPidOf(stackDir: string): number | undefined {
  try {
    const pid = Number(
      readFileSync(join(stackDir, 'postgres', 'data', 'postmaster.pid'), 'utf8').split('\n')[0],
    )
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Every process in /proc now, with its stat and command line; processes that end meanwhile are skipped. */
function sampleProcesses(): ProcessSample[] {
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  const samples: ProcessSample[] = []
  for (const pid of pids) {
    try {
      const stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      samples.push({ stat, cmdline })
    } catch {
      // The process ended between listing and reading.
    }
  }
  return samples
}

/**
 * CPU seconds used so far by each component of a rig (Linux /proc; only the load generator
 * elsewhere), the bench process itself as `load generator`. Postgres is this rig's postmaster
 * (from its pid file) with its children found by parent pid, and the CPU of children that have
 * exited (the postmaster's cutime/cstime), so a backend that ends inside a window still counts.
 */
export function cpuByComponent(stackDir: string): Record<string, number> {
  const self = process.cpuUsage()
  const ticks = tallyByComponent(sampleProcesses(), {
    stackDir,
    repoRoot,
    selfPid: process.pid,
    postmasterPid: postmasterPidOf(stackDir),
  })
  const seconds: Record<string, number> = Object.fromEntries(
    Object.entries(ticks).map(([component, n]) => [component, n / ticksPerS]),
  )
  seconds['load generator'] = (self.user + self.system) / 1e6
  return seconds
}

/** Adds up CPU by component over several measured runs, and the units of work they did. */
export class CpuMeter {
  private readonly seconds: Record<string, number> = {}
  private units = 0

  constructor(private readonly stackDir: string) {}

  /** Runs `work`, counting the CPU every component used meanwhile and the units `unitsOf` its result did. */
  async measure<T>(work: () => Promise<T>, unitsOf: (result: T) => number): Promise<T> {
    const before = cpuByComponent(this.stackDir)
    const result = await work()
    const after = cpuByComponent(this.stackDir)
    for (const [key, value] of Object.entries(after))
      this.seconds[key] = (this.seconds[key] ?? 0) + value - (before[key] ?? 0)
    this.units += unitsOf(result)
    return result
  }

  /** CPU seconds by component over everything measured so far. */
  totals(): Record<string, number> {
    return { ...this.seconds }
  }

  /** CPU milliseconds per unit, by component, plus their total. */
  perUnit(): Record<string, number> {
    const per = Object.fromEntries(
      Object.entries(this.seconds).map(([key, s]) => [
        key,
        Math.round((s * 1000 * 100) / Math.max(1, this.units)) / 100,
      ]),
    )
    per.total = Math.round(Object.values(per).reduce((a, b) => a + b, 0) * 100) / 100
    return per
  }
}
