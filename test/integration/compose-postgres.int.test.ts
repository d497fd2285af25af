import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { findFreePort } from '../../stack/lib/ports.ts'
import { findToolchain } from '../../stack/lib/prereqs.ts'

/**
 * No Docker engine runs here, so the compose Postgres' own pieces run on a throwaway server from
 * the same binaries: its pg_hba.conf (mounted as hba_file) and its init script, run as the image
 * runs it. What the image adds (the entrypoint) is not covered.
 */
describe('the compose Postgres: least-privilege roles and pg_hba', () => {
  const { pgBin = '' } = findToolchain({ needJvm: false, needPostgres: true })
  const dir = mkdtempSync(join(tmpdir(), 'compose-pg-'))
  const data = join(dir, 'data')
  const passwords = { admin: 'admin-pw-1', app: 'app-pw-2', cdc: 'cdc-pw-3' }
  let port = 0
  let server: ChildProcess | undefined
  // Postgres refuses to run as root: run it as the Debian `postgres` user then, as the stack does.
  const asUser: { uid?: number; gid?: number } =
    process.getuid?.() === 0
      ? {
          uid: Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout),
          gid: Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout),
        }
      : {}
  const own = (path: string) => {
    if (asUser.uid !== undefined && asUser.gid !== undefined) chownSync(path, asUser.uid, asUser.gid)
  }
  const env = (user: string, password: string) => ({
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: user,
    PGPASSWORD: password,
  })
  const url = (user: string, password: string, db: string) =>
    `postgres://${user}:${password}@127.0.0.1:${port}/${db}`

  beforeAll(async () => {
    port = await findFreePort()
    own(dir)
    writeFileSync(join(dir, 'pw'), passwords.admin, { mode: 0o600 })
    own(join(dir, 'pw'))
    const init = spawnSync(
      join(pgBin, 'initdb'),
      ['-D', data, '-U', 'postgres', `--pwfile=${join(dir, 'pw')}`, '--auth=scram-sha-256'],
      { encoding: 'utf8', ...asUser },
    )
    expect(init.status, init.stderr).toBe(0)
    server = spawn(
      join(pgBin, 'postgres'),
      [
        '-D',
        data,
        '-c',
        `port=${port}`,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        'wal_level=logical',
        '-c',
        `hba_file=${join(repoRoot, 'stack', 'docker', 'pg_hba.conf')}`,
      ],
      { stdio: 'ignore', ...asUser },
    )
    await vi.waitFor(
      () => expect(spawnSync(join(pgBin, 'pg_isready'), [], { env: env('postgres', '') }).status).toBe(0),
      { timeout: 30_000, interval: 100 },
    )
    const roles = spawnSync('bash', [join(repoRoot, 'stack', 'docker', 'init-roles.sh')], {
      encoding: 'utf8',
      env: {
        ...env('postgres', passwords.admin),
        POSTGRES_USER: 'postgres',
        APP_DB_USER: 'outbox',
        APP_DB_NAME: 'outbox',
        APP_DB_PASSWORD: passwords.app,
        CONNECTOR_DB_PASSWORD: passwords.cdc,
      },
    })
    expect(roles.status, roles.stderr).toBe(0)
  }, 60_000)
  afterAll(async () => {
    server?.kill('SIGINT')
    if (server && server.exitCode === null) await new Promise((resolve) => server?.once('exit', resolve))
    rmSync(dir, { recursive: true, force: true })
  })

  it('gives the application a role of its own that owns its database and is not a superuser', async () => {
    const app = postgres(url('outbox', passwords.app, 'outbox'), { max: 1, onnotice: () => {} })
    try {
      const [me] =
        await app`select rolsuper, rolcreaterole, rolcreatedb, rolreplication, (select pg_get_userbyid(datdba) from pg_database where datname = current_database()) as owner from pg_roles where rolname = current_user`
      expect(me).toEqual({
        rolsuper: false,
        rolcreaterole: false,
        rolcreatedb: false,
        rolreplication: false,
        owner: 'outbox',
      })
    } finally {
      await app.end()
    }
  })

  it('refuses pg_basebackup to the replication role, and still lets it stream logically', async () => {
    const target = join(dir, 'copy')
    const copy = spawnSync(join(pgBin, 'pg_basebackup'), ['-D', target, '-X', 'none'], {
      encoding: 'utf8',
      env: env('outbox_cdc', passwords.cdc),
      timeout: 30_000,
    })
    expect(copy.status).not.toBe(0)
    expect(copy.stderr).toContain('pg_hba.conf rejects replication connection')
    expect(readdirSync(dir)).not.toContain('copy')

    const logical = postgres(url('outbox_cdc', passwords.cdc, 'outbox'), {
      max: 1,
      onnotice: () => {},
      fetch_types: false,
      connection: { replication: 'database' },
    })
    try {
      const [system] = await logical.unsafe('IDENTIFY_SYSTEM')
      expect(system?.dbname).toBe('outbox')
    } finally {
      await logical.end()
    }
  })
})
