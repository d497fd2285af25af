import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { tsxArgs } from '../../lib/supervisor.ts'
import { repoRoot } from '../../stack/lib/config.ts'

export interface RelayProcessOptions {
  databaseUrl: string
  brokers: string[]
  intervalMs: number
  batchSize: number
  namespace: string
}

/**
 * Starts the polling relay in a child process (bench/relay/relay-process.ts) and resolves once its
 * producer is connected; `go()` makes it poll. `stop()` ends it with SIGTERM and resolves with how many events it published; an exit
 * the bench did not ask for fails `stop()` with the exit code.
 */
export async function startRelayProcess(options: RelayProcessOptions) {
  const child = spawn(process.execPath, tsxArgs(join(repoRoot, 'bench', 'relay', 'relay-process.ts')), {
    cwd: repoRoot,
    env: {
      ...process.env,
      RELAY_DATABASE_URL: options.databaseUrl,
      RELAY_KAFKA_BROKERS: options.brokers.join(','),
      RELAY_INTERVAL_MS: String(options.intervalMs),
      RELAY_BATCH_SIZE: String(options.batchSize),
      RELAY_NAMESPACE: options.namespace,
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const lines = createInterface({ input: child.stdout })
  let published: number | undefined
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the relay process did not start in 60 s')), 60_000)
    lines.on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer)
        resolve()
      } else if (line.startsWith('{')) published = (JSON.parse(line) as { published: number }).published
    })
    void exited.then((code) => reject(new Error(`the relay process exited (${code}) before it was ready`)))
  })
  return {
    pid: child.pid,
    go() {
      child.stdin.write('go\n')
    },
    async stop(): Promise<number> {
      if (child.exitCode !== null) throw new Error(`the relay process had exited (${child.exitCode})`)
      child.kill('SIGTERM')
      const code = await exited
      if (code !== 0 || published === undefined) throw new Error(`the relay process exited with ${code}`)
      return published
    },
  }
}
