import { join } from 'node:path'

/** The fields of /proc/<pid>/stat the bench uses; times are in clock ticks. */
export interface ProcStat {
  pid: number
  comm: string
  state: string
  ppid: number
  /** Fields 14 and 15: CPU this process used, in user and kernel mode. */
  utime: number
  stime: number
  /** Fields 16 and 17: CPU of its children that have exited and been waited for. */
  cutime: number
  cstime: number
}

export interface ProcessSample {
  stat: ProcStat
  /** /proc/<pid>/cmdline with the NULs as spaces. */
  cmdline: string
}

/**
 * Parses one /proc/<pid>/stat line. The command name (field 2) is in parentheses and may hold
 * spaces and parentheses itself, so the fields after it are counted from the last `)`.
 */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${text.slice(0, 80)}`)
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const rest = text
    .slice(close + 2)
    .trim()
    .split(' ')
  const field = (n: number) => {
    const value = Number(rest[n - 3])
    if (!Number.isFinite(value))
      throw new Error(`/proc stat field ${n} is not a number: ${text.slice(0, 80)}`)
    return value
  }
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: field(4),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
  }
}

/** Which part of the pipeline a process is, from its command line (null: not one of the rig's). */
export function componentOf(cmdline: string, stackDir: string, root: string): string | null {
  if (cmdline.includes(`${stackDir}/kafka/`)) return 'kafka'
  if (cmdline.includes(`${stackDir}/connect/`)) return 'connect'
  if (cmdline.includes(join(root, 'api', 'server.ts'))) return 'api'
  if (cmdline.includes(join(root, 'consumer', 'main.ts'))) return 'consumer'
  if (cmdline.includes(join(root, 'bench', 'relay', 'relay-process.ts'))) return 'relay'
  return null
}

/** All the CPU a process stands for: its own, and that of its children it has waited for. */
const allTicks = (s: ProcStat) => s.utime + s.stime + s.cutime + s.cstime

/**
 * Clock ticks used so far by each component, from one sample of every process. Postgres is the
 * postmaster with the given pid plus its children (backends, walsenders, autovacuum…), found by
 * parent pid: the postmaster's cutime/cstime holds the CPU of every backend that has exited, so a
 * pool closed between two samples still counts, and another Postgres on the machine never does.
 * A process counted as part of a component also brings the CPU of its reaped children.
 */
export function tallyByComponent(
  samples: ProcessSample[],
  rig: { stackDir: string; repoRoot: string; selfPid: number; postmasterPid: number | undefined },
): Record<string, number> {
  const ticks: Record<string, number> = {}
  const add = (component: string, n: number) => {
    ticks[component] = (ticks[component] ?? 0) + n
  }
  for (const { stat, cmdline } of samples) {
    if (stat.pid === rig.selfPid) continue
    if (
      rig.postmasterPid !== undefined &&
      (stat.pid === rig.postmasterPid || stat.ppid === rig.postmasterPid)
    ) {
      add('postgres', allTicks(stat))
      continue
    }
    const component = componentOf(cmdline, rig.stackDir, rig.repoRoot)
    if (component) add(component, allTicks(stat))
  }
  return ticks
}
