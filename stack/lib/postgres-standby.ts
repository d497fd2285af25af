import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { connectPostgres } from 'outbox-cdc'
import type postgres from 'postgres'
import { baseBackup } from './base-backup.ts'
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
 * (sync_replication_slots; its conninfo names a database for that). A primary starts with none of
 * its own: what it has with a standby is set once the standby's slot exists (primaryOfStandby),
 * and a standby promoted goes on with the settings it started with.
 */
export function roleSettings(
  config: StackConfig,
  node: PostgresNode,
  role: 'primary' | 'standby',
  passfile: string,
): Record<string, string> {
  const other = otherNode(node)
  if (role === 'primary') return {}
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
    // Kept, not deleted: what it held that the new primary lacks (a failover forced past a
    // standby behind) is nowhere else.
    const kept = `${dataDir}.retired-${new Date().toISOString().replaceAll(':', '-')}`
    if (existsSync(dataDir)) await rename(dataDir, kept)
    o.reporter.info(
      `${node} was the primary before a failover: it is made a standby of ${primary} afresh, its old data kept in ${kept} (delete it once you no longer need it)`,
    )
    await rm(retiredMarker(config, node), { force: true })
  } else if (existsSync(join(dataDir, 'PG_VERSION')) && !existsSync(join(dataDir, 'standby.signal')))
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      `${node} should be the standby, but its data is a primary's (promoted, and the address not moved): ` +
        'a failover stopped half-way. Run `npm run stack:failover` to finish it.',
    )
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
 * What a primary has with a standby: it holds logical decoding back until the standby has the WAL
 * (synchronized_standby_slots), so a slot copied to the standby is never ahead of what the standby
 * has; in `sync` mode its commits wait for the standby too.
 */
export function primarySettings(config: StackConfig, standby: PostgresNode): Record<string, string> {
  return {
    synchronized_standby_slots: standbySlotOf(standby),
    synchronous_standby_names: config.env.STACK_POSTGRES_REPLICATION === 'sync' ? `"${standby}"` : '',
  }
}

/**
 * The primary's side of its standby, on the primary's setup session (every stack:up, so a standby
 * promoted by a failover gets them too, without a restart): the standby's physical slot, made
 * before the standby is copied (so the WAL from the copy on is kept), then primarySettings,
 * reloaded. This session's own commits do not wait for a standby not started yet (sync mode).
 */
export async function primaryOfStandby(
  sql: postgres.Sql,
  config: StackConfig,
  standby: PostgresNode,
): Promise<void> {
  const [state] = await sql<{ recovering: boolean }[]>`select pg_is_in_recovery() as recovering`
  if (state?.recovering)
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      `the address names ${otherNode(standby)} the primary, but it is still a standby: a failover stopped before its ` +
        'promotion. Run `npm run stack:failover` to finish it.',
    )
  await sql`set synchronous_commit to local`
  const slot = standbySlotOf(standby)
  const [existing] = await sql`select 1 from pg_replication_slots where slot_name = ${slot}`
  if (!existing) await sql`select pg_create_physical_replication_slot(${slot}, true)`
  await applySettings(sql, primarySettings(config, standby))
}

/**
 * Sets `settings` with ALTER SYSTEM and reloads; an empty value resets one. Both settings reload
 * without a restart.
 */
export async function applySettings(sql: postgres.Sql, settings: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(settings))
    if (value === '') await sql.unsafe(`alter system reset ${name}`)
    else await sql.unsafe(`alter system set ${name} = '${value.replaceAll("'", "''")}'`)
  await sql`select pg_reload_conf()`
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
          select slot_name as "slotName",
            coalesce(synced, false) and not temporary and invalidation_reason is null as synced
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
