import { execFile, spawn } from 'node:child_process'
import { existsSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { tsxArgs } from '../../lib/supervisor.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import type { Rig } from '../../stack/rig.ts'

/**
 * What runs beside the pipeline during a soak, as an operator would have it: the ops console
 * (sampling the doctor's checks and both /metrics every few seconds) and the doctor run by hand
 * once a minute. Both are the CLI users run, pointed at the soak's own stack.
 */

/** The settings the CLI reads (npm run console, npm run doctor), for the rig's stack. */
export function cliEnv(rig: Rig, extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...process.env,
    STACK_DIR: rig.stackDir,
    DATABASE_URL: rig.info.postgres.url,
    KAFKA_BROKERS: rig.info.kafka.brokers.join(','),
    CONNECT_URL: rig.info.connect.url,
    CONNECTOR_NAME: rig.connectorEnv.CONNECTOR_NAME,
    TOPIC_NAMESPACE: rig.connectorEnv.TOPIC_NAMESPACE,
    LOG_LEVEL: 'warn',
    ...extra,
  }
}

/** Starts the ops console as `npm run console` would; its output goes to `<stackDir>/console.log`. */
export function startConsole(rig: Rig, env: NodeJS.ProcessEnv) {
  const log = openSync(join(rig.stackDir, 'console.log'), 'a')
  const child = spawn(
    process.execPath,
    tsxArgs(join(repoRoot, 'scripts', 'outbox-cdc.ts')).concat('console'),
    {
      cwd: repoRoot,
      env,
      stdio: ['ignore', log, log],
    },
  )
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return {
    pid: () => (child.exitCode === null ? child.pid : undefined),
    exited,
    /** Whether it ran to the end: it had not exited before its stop. */
    running: () => child.exitCode === null && child.signalCode === null,
    /** SIGTERM, then SIGKILL if it has not exited 20 s later. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000)
      await exited
      clearTimeout(killer)
    },
  }
}

export interface DoctorRun {
  s: number
  ok: boolean
  /** Checks not ok, as `check: severity`. */
  notOk: string[]
}

/** One `npm run doctor -- --json` against the rig's stack: whether it passed, and what was not ok. */
export async function runDoctor(env: NodeJS.ProcessEnv, s: number): Promise<DoctorRun> {
  const args = tsxArgs(join(repoRoot, 'scripts', 'outbox-cdc.ts')).concat('doctor', '--json')
  const { stdout, code } = await promisify(execFile)(process.execPath, args, {
    cwd: repoRoot,
    env,
    maxBuffer: 16 * 2 ** 20,
    // A doctor stuck on a query is a failed run, not a soak that never ends.
    timeout: 60_000,
  }).then(
    (r) => ({ stdout: r.stdout, code: 0 }),
    (e: { stdout?: string; code?: number }) => ({ stdout: e.stdout ?? '', code: e.code ?? 1 }),
  )
  return doctorRunOf(stdout, code, s)
}

/**
 * What one doctor run said: passed only when it exited 0 and its output was the report it
 * promises, with checks in it; an exit 0 beside output that cannot be read is a failed run.
 */
export function doctorRunOf(stdout: string, code: number, s: number): DoctorRun {
  let findings: Array<{ check: string; severity: string }> | undefined
  try {
    const parsed = (JSON.parse(stdout) as { findings?: unknown }).findings
    if (Array.isArray(parsed) && parsed.length > 0) findings = parsed as typeof findings
  } catch {}
  if (!findings) return { s, ok: false, notOk: ['doctor output: fail'] }
  return {
    s,
    ok: code === 0,
    notOk: findings.filter((f) => f.severity !== 'ok').map((f) => `${f.check}: ${f.severity}`),
  }
}

/** Error and warning lines in a process's log: pino's levels 50/60 and 40, kafkajs's ERROR and WARN. */
export function logLevels(file: string): { errors: number; warnings: number; firstError?: string } {
  if (!existsSync(file)) return { errors: 0, warnings: 0 }
  const lines = readFileSync(file, 'utf8').split('\n')
  // The console's CLI writes its warnings and errors as plain `console: …` lines on stderr.
  const errors = lines.filter((l) => /"level":(50|60)\b|"level":"ERROR"|^console: /.test(l))
  const warnings = lines.filter((l) => /"level":40\b|"level":"WARN"/.test(l))
  return {
    errors: errors.length,
    warnings: warnings.length,
    ...(errors[0] ? { firstError: errors[0].slice(0, 500) } : {}),
  }
}
