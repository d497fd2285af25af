import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../stack/lib/config.ts'

/** Which part of the pipeline a process is, from its command line (null: not ours). */
function componentOf(cmdline: string, stackDir: string): string | null {
  if (cmdline.startsWith('postgres:') || cmdline.includes(`${stackDir}/postgres/`)) return 'postgres'
  if (cmdline.includes(`${stackDir}/kafka/`)) return 'kafka'
  if (cmdline.includes(`${stackDir}/connect/`)) return 'connect'
  if (cmdline.includes(join(repoRoot, 'api', 'server.ts'))) return 'api'
  if (cmdline.includes(join(repoRoot, 'consumer', 'main.ts'))) return 'consumer'
  return null
}

/**
 * CPU seconds used so far by each component of a rig (Linux /proc; empty elsewhere), the bench
 * process itself as `load generator`. Postgres backends are matched by their process title, which
 * holds no data dir, so this assumes the rig's Postgres is the only one running on the machine.
 */
export function cpuByComponent(stackDir: string): Record<string, number> {
  const totals: Record<string, number> = {}
  const self = process.cpuUsage()
  totals['load generator'] = (self.user + self.system) / 1e6
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return totals
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
      const component = componentOf(cmdline, stackDir)
      if (!component) continue
      // Fields 14 and 15 (utime, stime) in clock ticks; the command name in field 2 may hold spaces.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const ticks = Number(fields[11]) + Number(fields[12])
      totals[component] = (totals[component] ?? 0) + ticks / 100
    } catch {
      // The process ended between listing and reading.
    }
  }
  return totals
}

/** Adds up CPU by component over several measured runs, and the units of work they did. */
export class CpuMeter {
  private readonly seconds: Record<string, number> = {}
  private units = 0

  constructor(private readonly stackDir: string) {}

  /** Runs `work`, counting its CPU; the units are the run's events (a `latencyMs.count` or given). */
  async measure<T extends { latencyMs?: { count: number } }>(
    work: () => Promise<T>,
    units?: number,
  ): Promise<T> {
    const before = cpuByComponent(this.stackDir)
    const result = await work()
    const after = cpuByComponent(this.stackDir)
    for (const [key, value] of Object.entries(after))
      this.seconds[key] = (this.seconds[key] ?? 0) + value - (before[key] ?? 0)
    this.units += units ?? result.latencyMs?.count ?? 0
    return result
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
