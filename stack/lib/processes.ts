import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { setTimeout as delay } from 'node:timers/promises'

/** What the stack records about a process it started, in `<component>/process.json`. */
export interface ProcessRecord {
  pid: number
  /** A string that must appear in /proc/<pid>/cmdline, so a recycled pid is never mistaken for ours. */
  marker: string
  ports: number[]
  logFile: string
  startedAt: string
  /**
   * The `npm start` that started (or took over) this component and stops it when it stops; absent
   * for `stack:up`'s, which run until `stack:down`. Its own pid and marker, so a dead one is told.
   */
  owner?: { pid: number; marker: string }
}

export interface StartOptions {
  command: string
  args: string[]
  logFile: string
  cwd: string
  env?: NodeJS.ProcessEnv
  uid?: number
  gid?: number
}

/**
 * Starts a long-running process detached from this one, its output appended to `logFile`.
 * Detached so that `stack:up` can exit and the process lives on until `stack:down`; it also
 * leads a process group of its own, which holds whatever it forks.
 */
export function startDetached(options: StartOptions): number {
  const log = openSync(options.logFile, 'a')
  try {
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    })
    if (child.pid === undefined) throw new Error(`could not start ${options.command}`)
    child.unref()
    return child.pid
  } finally {
    closeSync(log)
  }
}

export function readRecord(file: string): ProcessRecord | undefined {
  if (!existsSync(file)) return undefined
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord
  } catch {
    return undefined
  }
}

export function writeRecord(file: string, record: ProcessRecord): void {
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`)
}

/** True when `pid` runs and its command line carries our marker (pids get reused). */
export function isOurs(record: Pick<ProcessRecord, 'pid' | 'marker'> | undefined): boolean {
  if (record === undefined) return false
  try {
    const cmdline = readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    const stat = readFileSync(`/proc/${record.pid}/stat`, 'utf8')
    // A zombie has exited; it only waits for its parent to reap it.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && cmdline.includes(record.marker)
  } catch {
    return false
  }
}

/**
 * Stops a process by pid: SIGTERM, then SIGKILL after `graceMs`. Returns how it ended.
 * Kafka's controlled shutdown and Postgres' fast shutdown both finish well inside the grace.
 */
export async function stopProcess(record: ProcessRecord, graceMs = 30_000): Promise<'stopped' | 'killed'> {
  signalProcess(record.pid, 'SIGTERM')
  const deadline = Date.now() + graceMs
  while (Date.now() < deadline) {
    if (!isOurs(record)) return 'stopped'
    await delay(100)
  }
  signalProcess(record.pid, 'SIGKILL')
  while (isOurs(record)) await delay(50)
  return 'killed'
}

/** Live (non-zombie) processes in process group `pgid`, from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // After the command: state, ppid, pgrp.
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') members.push(Number(entry))
    } catch {
      // Gone while we looked.
    }
  }
  return members
}

/**
 * SIGKILLs a whole instance at once, as a machine crash or the OOM killer of a container would:
 * every process in the group `startDetached` gave it (Postgres' postmaster and its backends,
 * not the postmaster alone), with no SIGTERM first. Resolves once none of them is left.
 */
export async function killProcessGroup(record: ProcessRecord): Promise<void> {
  if (!isOurs(record)) return
  signalProcess(-record.pid, 'SIGKILL')
  while (groupMembers(record.pid).length > 0) await delay(20)
}

/** Sends `name` to `pid`; one already gone is no error. */
export function signalProcess(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

/** The last `lines` lines of a log file, for error messages. */
export function tailFile(file: string, lines = 25): string {
  if (!existsSync(file)) return '(no log written)'
  const text = readFileSync(file, 'utf8').trimEnd()
  return text.split('\n').slice(-lines).join('\n')
}

export async function removeRecord(file: string): Promise<void> {
  await rm(file, { force: true })
}
