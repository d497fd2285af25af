import { chownSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { copyFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { connectPostgres } from 'outbox-cdc'
import type postgres from 'postgres'
import type { StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import { readTarget, type Target, writeTarget } from './forwarder.ts'
import type { Reporter } from './report.ts'

/**
 * The stack with a standby (STACK_POSTGRES_STANDBY): two Postgres nodes, `postgres` and
 * `postgres-2`, and `postgres-address` on POSTGRES_PORT, which every client connects to and which
 * forwards to whichever node is the primary. The address's target file says which that is; a
 * failover rewrites it. The nodes listen on POSTGRES_PORT + 1 and + 2.
 */
export type PostgresNode = 'postgres' | 'postgres-2'
export const postgresNodes: readonly PostgresNode[] = ['postgres', 'postgres-2']
export const addressName = 'postgres-address'

export const nodePort = (config: StackConfig, node: PostgresNode) =>
  config.env.POSTGRES_PORT + (node === 'postgres' ? 1 : 2)

/** The physical slot the primary keeps for `node` while it is the standby: its WAL waits for it. */
export const standbySlotOf = (node: PostgresNode) => `${node.replace('-', '_')}_standby`

export const otherNode = (node: PostgresNode): PostgresNode =>
  node === 'postgres' ? 'postgres-2' : 'postgres'

export const addressTargetFile = (config: StackConfig) => join(config.stackDir, addressName, 'target.json')

/** A node's folder holds this once it was the primary and is no longer: its data has forked. */
export const retiredMarker = (config: StackConfig, node: PostgresNode) =>
  join(config.stackDir, node, 'retired')

/** The primary: the node the address points at; `postgres` until a failover says otherwise. */
export function currentPrimary(config: StackConfig): PostgresNode {
  const file = addressTargetFile(config)
  if (!existsSync(file)) return 'postgres'
  const { node } = readTarget(file)
  if (node !== 'postgres' && node !== 'postgres-2')
    throw new StackError(
      'ADDRESS_TARGET_INVALID',
      `${file} names ${node}, which is no Postgres node of this stack`,
    )
  return node
}

/** Points the address at `node` (its current port), writing the target file whole. */
export function pointAddressAt(config: StackConfig, node: PostgresNode): Target {
  const target = { host: '127.0.0.1', port: nodePort(config, node), node }
  mkdirSync(join(config.stackDir, addressName), { recursive: true })
  writeTarget(addressTargetFile(config), target)
  return target
}

/** The superuser's URL on one node, past the address. */
export function nodeAdminUrl(config: StackConfig, node: PostgresNode, password: string): string {
  return `postgres://postgres:${password}@127.0.0.1:${nodePort(config, node)}/postgres`
}

/**
 * The settings a node starts with for its role. A standby streams from the primary over its own
 * physical slot, reports what it still needs (hot_standby_feedback, so the primary keeps the rows
 * and catalog its copies of the logical slots need), and copies every failover slot
 * (sync_replication_slots; its conninfo names a database for that). The primary holds logical
 * decoding back until the standby has the WAL (synchronized_standby_slots), so a slot copied to
 * the standby is never ahead of what the standby has; in `sync` mode its commits wait for the
 * standby too.
 */
export function roleSettings(
  config: StackConfig,
  node: PostgresNode,
  role: 'primary' | 'standby',
  passfile: string,
): Record<string, string> {
  const other = otherNode(node)
  if (role === 'primary')
    return {
      synchronized_standby_slots: standbySlotOf(other),
      ...(config.env.STACK_POSTGRES_REPLICATION === 'sync'
        ? { synchronous_standby_names: `"${other}"`, synchronous_commit: 'on' }
        : {}),
    }
  const conninfo = [
    'host=127.0.0.1',
    `port=${nodePort(config, other)}`,
    'user=postgres',
    `passfile=${passfile}`,
    'dbname=postgres',
    `application_name=${node}`,
    ...(config.env.STACK_SECURE ? ['sslmode=require'] : []),
  ].join(' ')
  return {
    primary_conninfo: conninfo,
    primary_slot_name: standbySlotOf(node),
    hot_standby: 'on',
    hot_standby_feedback: 'on',
    sync_replication_slots: 'on',
  }
}

/** The superuser's password for a node's replication connection, in a libpq password file it alone reads. */
export function writePassfile(
  dir: string,
  password: string,
  user: { uid: number; gid: number } | undefined,
): string {
  const file = join(dir, 'pgpass')
  writeFileSync(file, `127.0.0.1:*:*:postgres:${password}\n`, { mode: 0o600 })
  if (user) chownSync(file, user.uid, user.gid)
  return file
}

/**
 * What a base backup leaves out (as pg_basebackup does): the running server's own files, and
 * folders whose contents are rebuilt at start. Their folders are kept, empty. pg_wal is left
 * out too: the standby streams what it needs from its slot, made before the backup began.
 */
const emptied = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
])
const skipped = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'standby.signal',
  'recovery.signal',
  'backup_label',
])

async function copyData(from: string, to: string, top: boolean): Promise<void> {
  mkdirSync(to, { recursive: true, mode: 0o700 })
  for (const name of readdirSync(from)) {
    if (top && skipped.has(name)) continue
    if (name.startsWith('pgsql_tmp')) continue
    const source = join(from, name)
    let stat: ReturnType<typeof lstatSync>
    try {
      stat = lstatSync(source)
    } catch {
      continue // gone since it was listed: a temporary file of the running server
    }
    if (stat.isDirectory()) {
      if (top && emptied.has(name)) mkdirSync(join(to, name), { mode: 0o700 })
      else await copyData(source, join(to, name), false)
    } else if (stat.isFile()) {
      await copyFile(source, join(to, name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error
      })
    }
  }
}

function chownTree(dir: string, user: { uid: number; gid: number }) {
  chownSync(dir, user.uid, user.gid)
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (lstatSync(path).isDirectory()) chownTree(path, user)
    else chownSync(path, user.uid, user.gid)
  }
}

/**
 * Makes `toDir` a standby's data directory from the running primary at `primaryAdminUrl`: the
 * standby's physical slot first (so the primary keeps every WAL segment from the backup's start
 * on), then pg_backup_start, a copy of the primary's files, pg_backup_stop and its backup label.
 * The npm builds have no pg_basebackup; this is its low-level equivalent.
 */
export async function baseBackup(o: {
  primaryAdminUrl: string
  primaryDataDir: string
  toDir: string
  slot: string
  user: { uid: number; gid: number } | undefined
}): Promise<void> {
  const sql = connectPostgres(o.primaryAdminUrl, { max: 1, onnotice: () => {} })
  const partial = `${o.toDir}.partial`
  await rm(partial, { recursive: true, force: true })
  try {
    const [slot] = await sql`select 1 from pg_replication_slots where slot_name = ${o.slot}`
    if (!slot) await sql`select pg_create_physical_replication_slot(${o.slot}, true)`
    // One session for both calls: Postgres ties a backup to the session that started it.
    const session = await sql.reserve()
    try {
      await session`select pg_backup_start('outbox-cdc standby', true)`
      await copyData(o.primaryDataDir, partial, true)
      const [stop] = await session<{ labelfile: string; spcmapfile: string }[]>`
        select labelfile, spcmapfile from pg_backup_stop(false)`
      writeFileSync(join(partial, 'backup_label'), stop?.labelfile ?? '', { mode: 0o600 })
      if (stop?.spcmapfile) writeFileSync(join(partial, 'tablespace_map'), stop.spcmapfile, { mode: 0o600 })
    } finally {
      session.release()
    }
    writeFileSync(join(partial, 'standby.signal'), '', { mode: 0o600 })
    if (o.user) chownTree(partial, o.user)
    // Whole or not at all: a folder under the data directory's name is a finished copy.
    await rename(partial, o.toDir)
  } catch (error) {
    await rm(partial, { recursive: true, force: true })
    throw new StackError('START_FAILED', `could not copy the primary into a standby: ${String(error)}`, {
      cause: error,
    })
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/**
 * A standby's data: a copy of the primary's, made on its first start. A former primary (a failover
 * retired it) forked from the new primary's history when that was promoted: its data is replaced
 * by a fresh copy, as an operator (or Patroni, without pg_rewind) would.
 */
export async function prepareStandby(
  config: StackConfig,
  node: PostgresNode,
  o: { adminPassword: string; user: { uid: number; gid: number } | undefined; reporter: Reporter },
): Promise<void> {
  const primary = otherNode(node)
  const dataDir = join(config.stackDir, node, 'data')
  if (existsSync(retiredMarker(config, node))) {
    o.reporter.info(
      `${node} was the primary before a failover: its data is replaced by a copy of ${primary}'s`,
    )
    await rm(dataDir, { recursive: true, force: true })
    await rm(retiredMarker(config, node), { force: true })
  }
  if (existsSync(join(dataDir, 'PG_VERSION'))) return
  await o.reporter.step(`${node}: a standby, copied from ${primary}`, () =>
    baseBackup({
      primaryAdminUrl: nodeAdminUrl(config, primary, o.adminPassword),
      primaryDataDir: join(config.stackDir, primary, 'data'),
      toDir: dataDir,
      slot: standbySlotOf(node),
      user: o.user,
    }),
  )
}

/**
 * The primary's side of its standby, on the primary's setup session: the standby's physical slot
 * exists before the standby is copied (so synchronized_standby_slots names a slot, and the WAL
 * from the copy on is kept), and this session's commits do not wait for a standby not started yet
 * (sync mode).
 */
export async function primaryOfStandby(sql: postgres.Sql, standby: PostgresNode): Promise<void> {
  await sql`set synchronous_commit to local`
  const slot = standbySlotOf(standby)
  const [existing] = await sql`select 1 from pg_replication_slots where slot_name = ${slot}`
  if (!existing) await sql`select pg_create_physical_replication_slot(${slot}, true)`
}

export interface NodeStatus {
  name: PostgresNode
  port: number
  /** What the node says it is (pg_is_in_recovery), or null when it does not answer. */
  role: 'primary' | 'standby' | null
  /** On a standby: its logical slots, and whether each is a synced copy of the primary's. */
  slots: { slotName: string; synced: boolean }[]
}

/** Each node of a stack with a standby, as it answers on its own port. */
export async function nodeStatuses(config: StackConfig, adminPassword: string): Promise<NodeStatus[]> {
  return Promise.all(
    postgresNodes.map(async (name) => {
      const sql = connectPostgres(nodeAdminUrl(config, name, adminPassword), {
        max: 1,
        connect_timeout: 2,
        onnotice: () => {},
      })
      try {
        const [row] = await sql<{ recovering: boolean }[]>`select pg_is_in_recovery() as recovering`
        const slots = await sql<{ slotName: string; synced: boolean }[]>`
          select slot_name as "slotName", coalesce(synced, false) and not temporary as synced
          from pg_replication_slots where slot_type = 'logical' order by slot_name`
        return { name, port: nodePort(config, name), role: row?.recovering ? 'standby' : 'primary', slots }
      } catch {
        return { name, port: nodePort(config, name), role: null, slots: [] }
      } finally {
        await sql.end({ timeout: 1 })
      }
    }),
  )
}
