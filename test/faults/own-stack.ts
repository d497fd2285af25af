import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { waitUntil } from '../../lib/wait-until.ts'
import { loadStackConfig, repoRoot } from '../../stack/lib/config.ts'
import { findFreePortRun } from '../../stack/lib/ports.ts'

/*
 * What the fault files that run a whole stack of their own (a folder, ports, processes) share:
 * the main stack's config (its jars, and its mode, which decides whether such a stack can run),
 * the environment that points the stack's commands at the file's own folder, and those commands.
 */

export const mainConfig = loadStackConfig()

/** tsx, to run the stack's scripts as npm run does. */
export const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx')

/**
 * The environment of a stack in `stackDir` on `ports`. Only the jars are shared with the main
 * stack: resolving them again would test Maven, not us.
 */
export const ownStackEnv = (stackDir: string, ports: Record<string, string>): NodeJS.ProcessEnv => ({
  ...process.env,
  ...ports,
  STACK_DIR: stackDir,
  STACK_JARS_DIR: mainConfig.jarsDir,
  STACK_JVM_HEAP: '384m',
})

/**
 * Free ports in a row for a stack alone (no services): `postgres` for Postgres (3 with a standby:
 * the address and two nodes), then one Kafka node, its controller, one Connect worker.
 */
export async function stackPorts(postgres = 1): Promise<{ base: number; ports: Record<string, string> }> {
  const base = await findFreePortRun(postgres + 3)
  const ports = {
    POSTGRES_PORT: String(base),
    KAFKA_PORT: String(base + postgres),
    KAFKA_CONTROLLER_PORT: String(base + postgres + 1),
    CONNECT_PORT: String(base + postgres + 2),
  }
  return { base, ports }
}

/**
 * Eight free ports in a row for a stack with the whole pipeline on it (npm start): Postgres, Kafka
 * and its controller, Connect, the API, the consumer's and fulfilment's health, the console.
 */
export async function pipelinePorts(): Promise<{ base: number; ports: Record<string, string> }> {
  const base = await findFreePortRun(8)
  const ports = {
    POSTGRES_PORT: String(base),
    KAFKA_PORT: String(base + 1),
    KAFKA_CONTROLLER_PORT: String(base + 2),
    CONNECT_PORT: String(base + 3),
    API_PORT: String(base + 4),
    CONSUMER_HEALTH_PORT: String(base + 5),
    CONSOLE_PORT: String(base + 6),
    FULFILMENT_HEALTH_PORT: String(base + 7),
  }
  return { base, ports }
}

/** Runs scripts/<script>.ts on `env` and waits for it: its exit code and all it printed. */
export function runScript(env: NodeJS.ProcessEnv, script: string, args: string[] = [], timeoutMs = 240_000) {
  const result = spawnSync(tsx, [join(repoRoot, 'scripts', `${script}.ts`), ...args], {
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
  })
  return { code: result.status, output: `${result.stdout}${result.stderr}` }
}

/** Waits until the API a rig started beside its stack answers /health. */
export const untilApiAnswers = (apiUrl: string) =>
  waitUntil(
    'the API to answer',
    () =>
      fetch(`${apiUrl}/health`).then(
        (r) => r.status === 200,
        () => false,
      ),
    { timeoutMs: 60_000, intervalMs: 250 },
  )
