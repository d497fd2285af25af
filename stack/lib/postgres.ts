import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { connectPostgres, withTlsParameters } from 'outbox-cdc'
import type postgres from 'postgres'
import { connectorPasswordKey, connectorSecretsFile, replicationRole } from '../../lib/replication.ts'
import { certificatesIn } from './certs.ts'
import type { Component } from './component.ts'
import { portEnvVar, type StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import {
  currentPrimary,
  nodeAdminUrl,
  nodePort,
  otherNode,
  type PostgresNode,
  prepareStandby,
  primaryOfStandby,
  roleSettings,
  writePassfile,
} from './postgres-standby.ts'
import type { Reporter } from './report.ts'
import { ensureSecret, readSecret } from './secrets.ts'
import { isSecure, stackPostgresTls } from './secure.ts'

/** Bounds how much WAL a stalled replication slot may pin before Postgres invalidates it. */
export const maxSlotWalKeepSize = '1GB'

export interface PostgresUrls {
  /** The application role on the application database. */
  url: string
  /** The bootstrap superuser, for setup and replication-slot administration. */
  adminUrl: string
}

export function localPostgresUrls(config: StackConfig): PostgresUrls {
  const { POSTGRES_PORT: port, POSTGRES_DB: db, POSTGRES_USER: user } = config.env
  // Read only: stack:status must not create secrets; the first stack:up does.
  const appPassword = readSecret(config.secretsDir, 'postgres-app') ?? ''
  const adminPassword = readSecret(config.secretsDir, 'postgres-admin') ?? ''
  const urls = {
    url: `postgres://${user}:${appPassword}@127.0.0.1:${port}/${db}`,
    adminUrl: `postgres://postgres:${adminPassword}@127.0.0.1:${port}/postgres`,
  }
  // The secured stack's URLs say TLS as libpq does, so every client (psql too) checks the server.
  const tls = stackPostgresTls(config)
  if (!tls) return urls
  return { url: withTlsParameters(urls.url, tls), adminUrl: withTlsParameters(urls.adminUrl, tls) }
}

/**
 * Who may connect how. initdb's default lets any role with REPLICATION open a *physical*
 * replication connection, and with it `pg_basebackup` copies every table of every database and
 * `pg_authid`. Only the superuser may do that here. A *logical* replication connection (what
 * Debezium opens) is matched by its database name, not by the `replication` keyword, so the
 * `all` lines still let the connector's role stream its slot.
 */
export const hbaConf = `# Written by the local stack on every start (stack/lib/postgres.ts); edits are overwritten.
# Physical replication (pg_basebackup, pg_receivewal): the superuser only.
host    replication     postgres        127.0.0.1/32            scram-sha-256
host    replication     postgres        ::1/128                 scram-sha-256
host    replication     all             all                     reject
# Everything else, logical replication connections included: a password over loopback TCP.
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
`

/** The secured stack's rules: the same, over TLS only; a connection without it is refused by name. */
export const hbaConfTlsOnly = `${hbaConf
  .replace('# Written by', '# Secured stack (STACK_SECURE): TLS only. Written by')
  .replace(
    /^host(\s)/gm,
    'hostssl$1',
  )}hostnossl all             all             all                     reject
`

function writeHba(dataDir: string, user: { uid: number; gid: number } | undefined, tlsOnly: boolean): void {
  const file = join(dataDir, 'pg_hba.conf')
  writeFileSync(file, tlsOnly ? hbaConfTlsOnly : hbaConf, { mode: 0o600 })
  if (user) chownSync(file, user.uid, user.gid)
}

/** The major of the server at `url` (server_version_num ÷ 10,000), or null when it does not answer. */
export async function postgresMajorAt(url: string): Promise<number | null> {
  const sql = connectPostgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
  try {
    const [row] = await sql<
      { major: number }[]
    >`select current_setting('server_version_num')::int / 10000 as major`
    return row?.major ?? null
  } catch {
    return null
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/** True when `url` accepts a connection and answers a query. */
export async function postgresAnswers(url: string): Promise<boolean> {
  return (await postgresMajorAt(url)) !== null
}

/**
 * The server refuses to run as root, so as root we run it (and initdb) as the `postgres` OS user
 * that Debian's package creates, and make sure that user can reach the data directory.
 */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' })
  const uid = id('-u')
  const gid = id('-g')
  if (uid.status !== 0 || gid.status !== 0) {
    throw new StackError(
      'PREREQUISITE_MISSING',
      'PostgreSQL will not run as root and there is no "postgres" OS user to run it as. ' +
        'Install postgresql-15 (it creates the user) or run the stack as a normal user.',
    )
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

/** Gives "others" the execute bit on ancestors that lack it, so the server user can reach its folder. */
function openPathFor(dir: string, reporter: Reporter): void {
  for (let current = dirname(dir); current !== dirname(current); current = dirname(current)) {
    const mode = statSync(current).mode
    if ((mode & constants.S_IXOTH) === 0) {
      chmodSync(current, mode | constants.S_IXOTH)
      reporter.info(`gave others search (x) permission on ${current} so the postgres user can reach its data`)
    }
  }
}

/**
 * The role Debezium connects as: LOGIN and REPLICATION only, no superuser, no ownership. The
 * migrations grant it SELECT on the outbox. Its password goes to a properties file that Connect's
 * file config provider reads, so the connector config only names it.
 */
async function ensureReplicationRole(sql: postgres.Sql, secretsDir: string): Promise<void> {
  const password = ensureSecret(secretsDir, 'postgres-cdc')
  const [existing] = await sql`select 1 from pg_roles where rolname = ${replicationRole}`
  if (!existing) await sql`create role ${sql(replicationRole)} login replication`
  await sql.unsafe(`alter role "${replicationRole}" with login replication password '${password}'`)
  const file = join(secretsDir, connectorSecretsFile)
  writeFileSync(file, `${connectorPasswordKey}=${password}\n`, { mode: 0o600 })
}

/**
 * The server's certificate and key, copied beside its data for the server's user: Postgres refuses
 * a key that others may read, or that belongs to anyone but itself or root.
 */
function serverTls(certsDir: string, dir: string, user: { uid: number; gid: number } | undefined) {
  const certs = certificatesIn(certsDir)
  const tlsDir = join(dir, 'tls')
  mkdirSync(tlsDir, { recursive: true, mode: 0o700 })
  const cert = join(tlsDir, 'server.pem')
  const key = join(tlsDir, 'server.key')
  copyFileSync(certs.serverCertFile, cert)
  copyFileSync(certs.serverKeyFile, key)
  chmodSync(key, 0o600)
  if (user) for (const path of [tlsDir, cert, key]) chownSync(path, user.uid, user.gid)
  return { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key }
}

/**
 * A Postgres server of the stack: the only one (on POSTGRES_PORT), or, with a standby
 * (STACK_POSTGRES_STANDBY), `node` on its own port, primary or standby as the address says.
 */
export function postgresComponent(
  config: StackConfig,
  pgBin: string,
  node: PostgresNode = 'postgres',
): Component {
  const dir = join(config.stackDir, node)
  const dataDir = join(dir, 'data')
  const standbyMode = config.env.STACK_POSTGRES_STANDBY
  const port = standbyMode ? nodePort(config, node) : config.env.POSTGRES_PORT
  const user = serverUser()
  const adminPassword = ensureSecret(config.secretsDir, 'postgres-admin')
  ensureSecret(config.secretsDir, 'postgres-app')
  // Past the address, straight to this node: its probe and setup must reach it, not the primary.
  const urls = standbyMode
    ? { ...localPostgresUrls(config), adminUrl: nodeAdminUrl(config, node, adminPassword) }
    : localPostgresUrls(config)
  const primary = standbyMode ? currentPrimary(config) : node
  const role = primary === node ? 'primary' : 'standby'

  return {
    name: node,
    dir,
    ports: [{ port, envVar: portEnvVar.postgres }],

    async prepare(reporter) {
      if (user) {
        openPathFor(dir, reporter)
        // The server's own folder too: a build fetched into a jars folder under /root, say.
        openPathFor(join(pgBin, 'postgres'), reporter)
        chownSync(dir, user.uid, user.gid)
      }
      if (role === 'standby') await prepareStandby(config, node, { adminPassword, user, reporter })
      // A data directory of another major was refused before anything started (choosePostgresServer).
      if (existsSync(join(dataDir, 'PG_VERSION'))) {
        writeHba(dataDir, user, isSecure(config))
        return
      }
      await reporter.step('postgres: initdb', async () => {
        // The superuser password reaches initdb through a file that exists only for this call.
        const pwFile = join(dir, '.initdb-password')
        writeFileSync(pwFile, `${ensureSecret(config.secretsDir, 'postgres-admin')}\n`, { mode: 0o600 })
        if (user) chownSync(pwFile, user.uid, user.gid)
        try {
          const result = spawnSync(
            join(pgBin, 'initdb'),
            [
              '-D',
              dataDir,
              '-U',
              'postgres',
              `--pwfile=${pwFile}`,
              '--auth=scram-sha-256',
              '-E',
              'UTF8',
              '--locale=C',
            ],
            { encoding: 'utf8', ...(user ?? {}) },
          )
          if (result.status !== 0) {
            throw new StackError('START_FAILED', `initdb failed:\n${result.stdout}${result.stderr}`)
          }
          writeHba(dataDir, user, isSecure(config))
        } finally {
          await rm(pwFile, { force: true })
        }
      })
    },

    launch() {
      const settings = {
        listen_addresses: '127.0.0.1',
        port: String(port),
        // TCP only: a socket path under a deep clone can exceed the 107-byte limit.
        unix_socket_directories: '',
        wal_level: 'logical',
        max_wal_senders: '10',
        max_replication_slots: '10',
        max_slot_wal_keep_size: maxSlotWalKeepSize,
        ...(isSecure(config) ? serverTls(config.certsDir, dir, user) : {}),
        ...(standbyMode ? roleSettings(config, node, role, writePassfile(dir, adminPassword, user)) : {}),
      }
      const args = [
        '-D',
        dataDir,
        ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`]),
      ]
      return { command: join(pgBin, 'postgres'), args, marker: dataDir, ...(user ?? {}) }
    },

    probe: () => postgresAnswers(urls.adminUrl),

    async afterStart() {
      // A standby is read-only: it has the primary's roles and databases already.
      if (role === 'standby') return
      const { POSTGRES_DB: db, POSTGRES_USER: appRole } = config.env
      const appPassword = ensureSecret(config.secretsDir, 'postgres-app')
      const sql = connectPostgres(urls.adminUrl, { max: 1, onnotice: () => {} })
      try {
        // With a standby: its slot, and this session's commits not waiting for it (sync mode).
        if (standbyMode) await primaryOfStandby(sql, config, otherNode(node))
        const [existingRole] = await sql`select 1 from pg_roles where rolname = ${appRole}`
        if (!existingRole) await sql`create role ${sql(appRole)} login`
        // Hex secret and a validated identifier: nothing here needs escaping.
        await sql.unsafe(`alter role "${appRole}" with login password '${appPassword}'`)
        const [existingDb] = await sql`select 1 from pg_database where datname = ${db}`
        if (!existingDb) await sql`create database ${sql(db)} owner ${sql(appRole)}`
        await ensureReplicationRole(sql, config.secretsDir)
        // A server started before this rule existed keeps its old file until told to reread it.
        if (existsSync(join(dataDir, 'PG_VERSION'))) {
          writeHba(dataDir, user, isSecure(config))
          await sql`select pg_reload_conf()`
        }
      } finally {
        await sql.end({ timeout: 5 })
      }
    },
  }
}
