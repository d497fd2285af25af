import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { StackError } from './errors.ts'
import { assertPortFree } from './ports.ts'
import {
  isOurs,
  type ProcessRecord,
  readRecord,
  removeRecord,
  startDetached,
  stopProcess,
  tailFile,
  writeRecord,
} from './processes.ts'
import type { Reporter } from './report.ts'

/** Node 1 of Kafka and worker 1 of Connect keep the single-node names; the others are numbered. */
export type ComponentName =
  | 'postgres'
  | 'kafka'
  | 'connect'
  | `kafka-${number}`
  | `connect-${number}`
  /** With a standby: the second Postgres node, and the address that follows the primary. */
  | `postgres-${number}`
  | 'postgres-address'

/** One local process of the stack: how to prepare, launch and probe it. */
export interface Component {
  name: ComponentName
  /** `<stackDir>/<name>`: config, data, log and process.json live here. */
  dir: string
  ports: { port: number; envVar: string }[]
  /** Writes config and initialises storage; must be safe to run on every start. */
  prepare(reporter: Reporter): Promise<void>
  launch(): {
    command: string
    args: string[]
    marker: string
    uid?: number
    gid?: number
    env?: NodeJS.ProcessEnv
  }
  /** Resolves true once the component does its job (answers queries, lists plugins…). */
  probe(): Promise<boolean>
  /** Says why the probe fails, when that can be told (added to a start timeout's message). */
  diagnose?(): Promise<string | undefined>
  /** Runs whenever the component is found or made healthy, e.g. ensuring roles exist. Idempotent. */
  afterStart?(reporter: Reporter): Promise<void>
}

type Located = Pick<Component, 'name' | 'dir'>
export const recordFile = (component: Located) => join(component.dir, 'process.json')
export const logFile = (component: Located) => join(component.dir, `${component.name}.log`)

/** `adopted`: left running by an owner that is gone (an `npm start` killed outright), now the caller's. */
export type StartOutcome = 'started' | 'already-running' | 'adopted'

/** Who starts a component and stops it again on its way out (see ProcessRecord.owner). */
export type Owner = NonNullable<ProcessRecord['owner']>

/**
 * Starts `component` unless our own process already runs it, then waits until its probe passes.
 * A process that dies or stays unhealthy past `timeoutMs` fails with its log path and last lines.
 */
export async function ensureStarted(
  component: Component,
  reporter: Reporter,
  timeoutMs: number,
  owner?: Owner,
): Promise<StartOutcome> {
  const file = recordFile(component)
  const existing = readRecord(file)
  if (existing && isOurs(existing)) {
    // An owner that is gone (killed before it could stop what it started) hands it to this
    // caller: to this npm start, or, for stack:up (no owner), to nobody: it runs until stack:down.
    const orphaned = existing.owner !== undefined && !isOurs(existing.owner)
    if (orphaned) {
      const { owner: _gone, ...unowned } = existing
      writeRecord(file, owner ? { ...unowned, owner } : unowned)
    }
    await waitHealthy(component, existing, reporter, timeoutMs)
    // Idempotent setup (roles, grants) also runs here, so a newer checkout needs no restart.
    await component.afterStart?.(reporter)
    return orphaned && owner ? 'adopted' : 'already-running'
  }
  await removeRecord(file)
  for (const { port, envVar } of component.ports) await assertPortFree(port, component.name, envVar)

  mkdirSync(component.dir, { recursive: true })
  await component.prepare(reporter)
  const spec = component.launch()
  const log = logFile(component)
  const pid = startDetached({ ...spec, logFile: log, cwd: component.dir })
  const record: ProcessRecord = {
    pid,
    marker: spec.marker,
    ports: component.ports.map((p) => p.port),
    logFile: log,
    startedAt: new Date().toISOString(),
    ...(owner ? { owner } : {}),
  }
  // Written before the wait: an owner stopped while this starts still finds it and stops it.
  writeRecord(file, record)
  await waitHealthy(component, record, reporter, timeoutMs)
  await component.afterStart?.(reporter)
  return 'started'
}

async function waitHealthy(
  component: Component,
  record: ProcessRecord,
  reporter: Reporter,
  timeoutMs: number,
) {
  const deadline = Date.now() + timeoutMs
  let lastNotice = Date.now()
  let pollMs = 100
  while (Date.now() < deadline) {
    if (!isOurs(record)) {
      throw new StackError(
        'START_FAILED',
        `${component.name} exited while starting. Its log is ${record.logFile}; the last lines:\n${tailFile(record.logFile)}`,
      )
    }
    if (await component.probe()) return
    if (Date.now() - lastNotice > 10_000) {
      lastNotice = Date.now()
      reporter.info(`… still waiting for ${component.name} (log: ${record.logFile})`)
    }
    await delay(pollMs)
    pollMs = Math.min(pollMs * 2, 1000)
  }
  const why = (await component.diagnose?.()) ?? ''
  throw new StackError(
    'START_TIMEOUT',
    `${component.name} did not become healthy within ${timeoutMs / 1000} s (STACK_START_TIMEOUT_S moves the limit). ${why} ` +
      `It is still running as pid ${record.pid}. Its log is ${record.logFile}; the last lines:\n${tailFile(record.logFile)}`,
    { retryable: true },
  )
}

/** Stops our process for `component`, if any; returns what happened for the report. */
export async function ensureStopped(component: Located): Promise<'stopped' | 'killed' | 'not-running'> {
  const file = recordFile(component)
  const record = readRecord(file)
  if (!record || !isOurs(record)) {
    await removeRecord(file)
    return 'not-running'
  }
  const outcome = await stopProcess(record)
  await removeRecord(file)
  return outcome
}
