import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { repoRoot } from './config.ts'
import { StackError } from './errors.ts'
import type { Reporter } from './report.ts'

export const stackPom = join(repoRoot, 'stack', 'pom.xml')

/** Classpath folder (broker, Connect, logging) and Debezium plugin folder, as the Kafka tarball lays them out. */
export function jarPaths(jarsDir: string) {
  return { lib: join(jarsDir, 'lib'), plugins: join(jarsDir, 'plugins'), stamp: join(jarsDir, '.resolved') }
}

const unitBytes: Record<string, number> = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9 }

/** Bytes from a Maven transfer line: `Downloaded from central: https://… (1.2 MB at 3.4 MB/s)`. */
export function parseDownloadedBytes(line: string): number | undefined {
  const match = /^(?:\[INFO\] )?Downloaded from [^:]+: \S+ \(([\d.]+) (B|kB|KB|MB|GB)/.exec(line)
  if (!match?.[1] || !match[2]) return undefined
  return Math.round(Number(match[1]) * (unitBytes[match[2]] ?? 1))
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`
  return `${bytes} B`
}

/**
 * Makes sure the jars for this version of stack/pom.xml are in `jarsDir`, running Maven only when
 * the pom changed since the last resolution. The first run downloads ~100 MB into ~/.m2, so it
 * prints a running count of files and bytes instead of going quiet.
 */
export async function ensureJars(jarsDir: string, mvn: string, reporter: Reporter): Promise<void> {
  const paths = jarPaths(jarsDir)
  const pomHash = createHash('sha256').update(readFileSync(stackPom)).digest('hex')
  if (existsSync(paths.stamp) && readFileSync(paths.stamp, 'utf8').trim() === pomHash) return

  await mkdir(jarsDir, { recursive: true })
  await reporter.step('resolve Kafka, Connect and Debezium jars (Maven Central)', async () => {
    const { files, bytes } = await runMaven(mvn, jarsDir, reporter)
    reporter.info(
      files === 0 ? 'all jars were already in ~/.m2' : `downloaded ${files} files, ${formatBytes(bytes)}`,
    )
  })
  const plugin = join(paths.plugins, 'debezium-connector-postgres')
  if (
    !existsSync(plugin) ||
    !readdirSync(plugin).some((file) => file.startsWith('debezium-connector-postgres-'))
  ) {
    throw new StackError('JARS_UNRESOLVED', `Maven finished but ${plugin} holds no Debezium connector jar.`)
  }
  writeFileSync(paths.stamp, `${pomHash}\n`)
}

function runMaven(
  mvn: string,
  jarsDir: string,
  reporter: Reporter,
): Promise<{ files: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    // `-B` gives one plain line per finished download, which we count; the stack dir is passed
    // through so the pom never hard-codes where the jars land.
    const child = spawn(mvn, ['-B', '-f', stackPom, 'package', `-Dstack.jars.dir=${jarsDir}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let files = 0
    let bytes = 0
    let lastReport = Date.now()
    const errors: string[] = []
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      const size = parseDownloadedBytes(line)
      if (size !== undefined) {
        files += 1
        bytes += size
        if (Date.now() - lastReport > 2000) {
          lastReport = Date.now()
          reporter.info(`… ${files} files, ${formatBytes(bytes)} so far`)
        }
      } else if (line.startsWith('[ERROR]')) {
        errors.push(line)
      }
    })
    child.stderr.on('data', (chunk: Buffer) => errors.push(chunk.toString()))
    child.on('error', (cause) => reject(new StackError('JARS_UNRESOLVED', `could not run ${mvn}`, { cause })))
    child.on('close', (code) => {
      if (code === 0) return resolve({ files, bytes })
      reject(
        new StackError(
          'JARS_UNRESOLVED',
          `Maven could not resolve the stack's jars (exit ${code}). Maven said:\n${errors.slice(0, 15).join('\n')}`,
          { retryable: true },
        ),
      )
    })
  })
}
