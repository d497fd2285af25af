import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { connectPostgres } from 'outbox-cdc'
import type { StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import {
  addressName,
  applySettings,
  currentPrimary,
  type NodeStatus,
  nodeAdminUrl,
  nodeStatuses,
  otherNode,
  type PostgresNode,
  pointAddressAt,
  primarySettings,
  retiredMarker,
} from './postgres-standby.ts'
import { isOurs, killProcessGroup, readRecord, signalProcess } from './processes.ts'
import type { Reporter } from './report.ts'
import { readSecret } from './secrets.ts'

export interface FailoverOutcome {
  from: PostgresNode
  to: PostgresNode
  /** Whether the old primary answered (a switchover) or not (a failover after its loss). */
  primaryAnswered: boolean
  /** What --force let through: slots the new primary cannot carry on from, a standby behind. */
  forced: string[]
}

/**
 * Promotes the standby and points the address at it, as an operator or Patroni would, in steps
 * that a run stopped half-way can finish: fence the old primary, retire it and point the address
 * at the standby (one file each), then promote. A primary that still runs is stopped with a fast
 * shutdown, which sends every WAL record it wrote to a standby that streams (a switchover). Run
 * again after it stopped half-way, it finds the address on a standby and promotes it.
 *
 * Refused, unless `force`: a standby that does not stream from a primary that answers (it may be
 * far behind), and a logical slot the new primary could not carry on from (no synced copy on the
 * standby, or not a failover slot at all): the connector would start from a new slot, and what it
 * had not read would be lost.
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
  const named = currentPrimary(config)
  const nodes = await nodeStatuses(config, password)
  const status = (node: PostgresNode) => nodes.find((n) => n.name === node) as NodeStatus
  // The address already on a standby: an earlier run stopped after moving it. Promote it.
  if (status(named).role === 'standby') {
    reporter.info(
      `the address names ${named}, still a standby: finishing a failover that stopped before its promotion`,
    )
    await promote(config, named, password, reporter)
    return { from: otherNode(named), to: named, primaryAnswered: false, forced: [] }
  }
  const from = named
  const to = otherNode(from)
  if (status(to).role !== 'standby')
    throw new StackError(
      'NO_STANDBY',
      `${to} does not answer as a standby (${status(to).role ?? 'down'}): there is nothing to promote`,
    )
  const primaryAnswered = status(from).role === 'primary'
  const forced = await refusals(config, {
    from,
    to,
    standby: status(to),
    primaryAnswered,
    password,
    ...options,
  })
  if (forced.length > 0 && !options.force)
    throw new StackError(
      'FAILOVER_UNSAFE',
      `not failing over to ${to}: ${forced.join('; ')}. Put it right (stack:status shows each slot's copy), or run with --force ` +
        'to promote anyway: after it, delete the connector with its slot and register it again (connector:delete -- --drop-slot, ' +
        'connector:register), and the events written since it last read are lost.',
    )
  if (forced.length > 0) reporter.info(`--force: ${forced.join('; ')}`)

  // Fenced first: two primaries behind one address would fork the data.
  const record = readRecord(join(config.stackDir, from, 'process.json'))
  if (record && isOurs(record))
    await reporter.step(`${from}: stopped (fast shutdown, its WAL sent to ${to} first)`, async () => {
      signalProcess(record.pid, 'SIGINT')
      const deadline = Date.now() + 60_000
      while (isOurs(record) && Date.now() < deadline) await delay(100)
      await killProcessGroup(record)
    })
  writeFileSync(retiredMarker(config, from), `${new Date().toISOString()} failed over to ${to}\n`)
  await reporter.step(`${addressName}: now points at ${to}`, async () => {
    pointAddressAt(config, to)
    const address = readRecord(join(config.stackDir, addressName, 'process.json'))
    if (address && isOurs(address)) signalProcess(address.pid, 'SIGHUP')
  })
  await promote(config, to, password, reporter)
  return { from, to, primaryAnswered, forced }
}

/** What makes this failover lose events, each said in a few words; none when it is safe. */
async function refusals(
  config: StackConfig,
  o: {
    from: PostgresNode
    to: PostgresNode
    standby: NodeStatus
    primaryAnswered: boolean
    password: string
    connectorSlot: string
  },
): Promise<string[]> {
  const synced = new Set(o.standby.slots.filter((s) => s.synced).map((s) => s.slotName))
  if (!o.primaryAnswered)
    return synced.has(o.connectorSlot) ? [] : [`${o.to} holds no synced copy of ${o.connectorSlot}`]
  const sql = connectPostgres(nodeAdminUrl(config, o.from, o.password), {
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
  })
  try {
    const slots = await sql<{ slotName: string; failover: boolean }[]>`
      select slot_name as "slotName", failover from pg_replication_slots
      where slot_type = 'logical' order by slot_name`
    const [streaming] = await sql`
      select 1 from pg_stat_replication where application_name = ${o.to} and state = 'streaming'`
    return [
      ...(streaming ? [] : [`${o.to} is not streaming from ${o.from}, and may be behind it`]),
      ...slots
        .filter((s) => !s.failover)
        .map(
          (s) =>
            `${s.slotName} is not a failover slot (made before the standby, or without CONNECTOR_SLOT_FAILOVER)`,
        ),
      ...slots
        .filter((s) => s.failover && !synced.has(s.slotName))
        .map((s) => `${o.to} holds no synced copy of ${s.slotName}`),
    ]
  } finally {
    await sql.end({ timeout: 1 })
  }
}

/**
 * Promotes `node`, then takes off it what a primary with a standby has (copied from the old
 * primary with its data): it runs alone until stack:up gives it a standby again. Held, its
 * synchronized_standby_slots would name a slot it does not have, and no change would reach the
 * connector.
 */
async function promote(config: StackConfig, node: PostgresNode, password: string, reporter: Reporter) {
  await reporter.step(`${node}: promoted`, async () => {
    const sql = connectPostgres(nodeAdminUrl(config, node, password), { max: 1, onnotice: () => {} })
    try {
      const [row] = await sql<{ recovering: boolean }[]>`select pg_is_in_recovery() as recovering`
      if (row?.recovering) {
        const [done] = await sql<{ promoted: boolean }[]>`select pg_promote(true, 60) as promoted`
        if (!done?.promoted)
          throw new StackError(
            'START_FAILED',
            `${node} did not finish its promotion within 60 s; run stack:failover again to finish it`,
            { retryable: true },
          )
      }
      const alone = Object.fromEntries(Object.keys(primarySettings(config, node)).map((name) => [name, '']))
      await applySettings(sql, alone)
    } finally {
      await sql.end({ timeout: 5 })
    }
  })
}
