import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { StackError } from './errors.ts'

export interface Toolchain {
  java: string
  mvn: string
  /** Folder holding initdb, postgres and pg_ctl; undefined when Postgres is not ours to start. */
  pgBin?: string
}

/** Reads the major version from `java -version` output ("17.0.15", "1.8.0_392", "21"). */
export function parseJavaMajor(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput)
  if (!match?.[1]) return undefined
  const first = Number(match[1])
  return first === 1 && match[2] ? Number(match[2]) : first
}

/** Picks the newest `/usr/lib/postgresql/<major>/bin` that has a server in it. */
export function newestPgBin(root: string): string | undefined {
  if (!existsSync(root)) return undefined
  const majors = readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
  return majors.map((major) => join(root, major, 'bin')).find(hasServer)
}

export function hasServer(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))
}

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' })
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}` }
}

/**
 * Finds the tools the stack needs and reports every missing one in a single error, naming the
 * Debian package to install, so a new machine is fixed in one round.
 */
export function findToolchain(options: {
  needJvm: boolean
  needPostgres: boolean
  pgBin?: string
  javaHome?: string
}): Toolchain {
  const missing: string[] = []

  const java = options.javaHome ? join(options.javaHome, 'bin', 'java') : 'java'
  if (options.needJvm) {
    const javaMajor = parseJavaMajor(run(java, ['-version']).output)
    const where = options.javaHome ? ` at JAVA_HOME=${options.javaHome}` : ' on PATH'
    if (javaMajor === undefined)
      missing.push(`Java 17 or newer, none found${where} (apt-get install openjdk-17-jdk-headless)`)
    else if (javaMajor < 17)
      missing.push(
        `Java 17 or newer; found Java ${javaMajor}${where} (apt-get install openjdk-17-jdk-headless)`,
      )
    if (!run('mvn', ['-v']).ok) missing.push('Maven 3.6 or newer (apt-get install maven)')
  }

  let pgBin: string | undefined
  if (options.needPostgres) {
    pgBin = locatePgBin(options.pgBin)
    if (pgBin === undefined) {
      missing.push(
        options.pgBin
          ? `PostgreSQL server binaries: PG_BIN=${options.pgBin} has no initdb and postgres`
          : 'PostgreSQL 15+ server binaries (apt-get install postgresql-15), or set PG_BIN to their folder',
      )
    }
  }

  if (missing.length > 0) {
    throw new StackError(
      'PREREQUISITE_MISSING',
      `Missing prerequisites:\n${missing.map((m) => `  - ${m}`).join('\n')}`,
    )
  }
  return { java, mvn: 'mvn', ...(pgBin ? { pgBin } : {}) }
}

function locatePgBin(explicit: string | undefined): string | undefined {
  if (explicit !== undefined) return hasServer(explicit) ? explicit : undefined
  const fromPgConfig = run('pg_config', ['--bindir'])
  const bindir = fromPgConfig.ok ? fromPgConfig.output.trim() : undefined
  if (bindir && hasServer(bindir)) return bindir
  return newestPgBin('/usr/lib/postgresql')
}
