import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { connectPostgres } from 'outbox-cdc'
import type { StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import {
  addressName,
  currentPrimary,
  nodeAdminUrl,
  nodeStatuses,
  otherNode,
  type PostgresNode,
  pointAddressAt,
  retiredMarker,
} from './postgres-standby.ts'
import { isOurs, readRecord, signalProcess } from './processes.ts'
import type { Reporter } from './report.ts'
import { readSecret } from './secrets.ts'

export interface FailoverOutcome {
  from: PostgresNode
  to: PostgresNode
  /** Whether the old primary answered (a switchover) or not (a failover after its loss). */
  primaryAnswered: boolean
  /** Failover slots the standby held no synced copy of (only with --force). */
  unsynced: string[]
}

/**
 * Promotes the standby and points the address at it, as an operator or Patroni would. A primary
 * that still runs is stopped first, with a fast shutdown, which sends every WAL record it wrote to
 * the standby before it exits: nothing it committed is left behind (a switchover). A primary
 * already lost is fenced by its process being gone. Refused, unless `force`, when a failover slot
 * of the primary has no synced copy on the standby: the connector could not carry on from it on
 * the new primary, and what it had not read would be lost.
 */
export async function failover(
  config: StackConfig,
  options: { force: boolean; connectorSlot: string },
  reporter: Reporter,
): Promise<FailoverOutcome> {
  if (!config.env.STACK_POSTGRES_STANDBY)
    throw new StackError(
      'NO_STANDBY',
      'this stack has no standby to fail over to: start it with STACK_POSTGRES_STANDBY=1 (Postgres 17 or later)',
    )
  const password = readSecret(config.secretsDir, 'postgres-admin') ?? ''
  const from = currentPrimary(config)
  const to = otherNode(from)
  const nodes = await nodeStatuses(config, password)
  const primary = nodes.find((n) => n.name === from)
  const standby = nodes.find((n) => n.name === to)
  if (standby?.role !== 'standby')
    throw new StackError(
      'NO_STANDBY',
      `${to} does not answer as a standby (${standby?.role ?? 'down'}): there is nothing to promote`,
    )
  const primaryAnswered = primary?.role === 'primary'
  // The slots a connector streams from: the primary's failover slots when it answers; else the
  // connector's own slot, which the standby must hold a synced copy of.
  const wanted = primaryAnswered
    ? await failoverSlots(nodeAdminUrl(config, from, password))
    : [options.connectorSlot]
  const synced = new Set(standby.slots.filter((s) => s.synced).map((s) => s.slotName))
  const unsynced = wanted.filter((slot) => !synced.has(slot))
  if (unsynced.length > 0 && !options.force)
    throw new StackError(
      'SLOT_NOT_SYNCED',
      `${to} holds no synced copy of ${unsynced.join(', ')}: promoted, it would have no slot to carry on from, and the connector would ` +
        'have to start again from a new slot, losing every event written since it last read. Wait for the copy (stack:status shows it), ' +
        'or run with --force to promote anyway.',
    )
  if (unsynced.length > 0)
    reporter.info(
      `--force: ${unsynced.join(', ')} not synced on ${to}; after the failover, delete the connector with its slot and register it again (connector:delete -- --drop-slot, connector:register): events written since it last read are lost`,
    )

  // Fence the old primary first: two primaries behind one address would fork the data.
  const record = readRecord(join(config.stackDir, from, 'process.json'))
  if (record && isOurs(record)) {
    await reporter.step(`${from}: stopped (fast shutdown, its WAL sent to ${to} first)`, async () => {
      signalProcess(record.pid, 'SIGINT')
      const deadline = Date.now() + 60_000
      while (isOurs(record) && Date.now() < deadline) await delay(100)
      if (isOurs(record)) signalProcess(record.pid, 'SIGKILL')
      while (isOurs(record)) await delay(50)
    })
  }
  writeFileSync(retiredMarker(config, from), `${new Date().toISOString()} failed over to ${to}\n`)

  await reporter.step(`${to}: promoted`, async () => {
    const sql = connectPostgres(nodeAdminUrl(config, to, password), { max: 1, onnotice: () => {} })
    try {
      const [row] = await sql<{ promoted: boolean }[]>`select pg_promote(true, 60) as promoted`
      if (!row?.promoted)
        throw new StackError('START_FAILED', `${to} did not finish its promotion within 60 s`)
    } finally {
      await sql.end({ timeout: 5 })
    }
  })
  await reporter.step(`${addressName}: now points at ${to}`, async () => {
    pointAddressAt(config, to)
    const address = readRecord(join(config.stackDir, addressName, 'process.json'))
    if (address && isOurs(address)) signalProcess(address.pid, 'SIGHUP')
  })
  return { from, to, primaryAnswered, unsynced }
}

async function failoverSlots(adminUrl: string): Promise<string[]> {
  const sql = connectPostgres(adminUrl, { max: 1, connect_timeout: 2, onnotice: () => {} })
  try {
    const rows = await sql<{ slotName: string }[]>`
      select slot_name as "slotName" from pg_replication_slots
      where slot_type = 'logical' and failover order by slot_name`
    return rows.map((r) => r.slotName)
  } finally {
    await sql.end({ timeout: 1 })
  }
}
