import { setTimeout as delay } from 'node:timers/promises'
import type postgres from 'postgres'
import type { ConnectClient } from '../connector/connect-client.ts'
import { CodedError } from '../errors.ts'
import { type CommandNamer, cliCommands } from '../operations.ts'

export interface SlotInfo {
  slotName: string
  plugin: string | null
  slotType: string
  database: string | null
  active: boolean
  activePid: number | null
  restartLsn: string | null
  confirmedFlushLsn: string | null
  /** WAL kept on disk for this slot: from its restart_lsn to the current WAL position. */
  retainedBytes: number | null
  /** reserved, extended, unreserved or lost (past max_slot_wal_keep_size). */
  walStatus: string | null
}

export type SlotErrorCode =
  | 'SLOT_NOT_FOUND'
  | 'SLOT_ACTIVE'
  | 'SLOT_IN_USE_BY_CONNECTOR'
  | 'CONFIRMATION_REQUIRED'
  | 'NOT_PERMITTED'
  /** Connect could not be asked whether a connector uses the slot. */
  | 'OWNER_UNKNOWN'
  /** The connector that reads the slot runs (or failed): it must be stopped first. */
  | 'CONNECTOR_NOT_STOPPED'
  /** The slot's events cannot be decoded here (not pgoutput, or no such publication on its database). */
  | 'NOT_COUNTABLE'

export class SlotError extends CodedError<SlotErrorCode> {}

/** 1536 → "1.5 KiB"; what `slots list` prints beside the exact byte count. */
export function humanBytes(bytes: number | null): string {
  if (bytes === null) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

/** Turns "permission denied" into a message that says which privilege is missing. */
async function privileged<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if ((error as { code?: string }).code === '42501') {
      throw new SlotError(
        'NOT_PERMITTED',
        'this role may not manage replication slots: connect as a superuser or a role with REPLICATION (the admin connection)',
        { cause: error },
      )
    }
    throw error
  }
}

export function listSlots(sql: postgres.Sql): Promise<SlotInfo[]> {
  return privileged(
    () => sql<SlotInfo[]>`
      select slot_name as "slotName", plugin, slot_type as "slotType", database, active,
             active_pid as "activePid", restart_lsn::text as "restartLsn",
             confirmed_flush_lsn::text as "confirmedFlushLsn",
             pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint::float8 as "retainedBytes",
             wal_status as "walStatus"
      from pg_replication_slots order by slot_name`,
  )
}

async function findSlot(sql: postgres.Sql, name: string, commands: CommandNamer): Promise<SlotInfo> {
  const slot = (await listSlots(sql)).find((s) => s.slotName === name)
  if (!slot)
    throw new SlotError(
      'SLOT_NOT_FOUND',
      `no replication slot named ${name}; \`${commands('slots list')}\` shows them`,
    )
  return slot
}

/**
 * Moves a slot to the current WAL position, releasing the WAL it pinned. Every change in between
 * is skipped for good — the connector will never deliver those events — so it needs `confirm`.
 */
export async function advanceSlot(
  sql: postgres.Sql,
  name: string,
  options: { confirm: boolean; commands?: CommandNamer },
) {
  const commands = options.commands ?? cliCommands
  const slot = await findSlot(sql, name, commands)
  if (!options.confirm) {
    throw new SlotError(
      'CONFIRMATION_REQUIRED',
      `advancing ${name} skips ${humanBytes(slot.retainedBytes)} of WAL: the changes in it will never be delivered. ` +
        'Run again with --yes if that is what you want.',
    )
  }
  if (slot.active) {
    throw new SlotError(
      'SLOT_ACTIVE',
      `slot ${name} is in use by pid ${slot.activePid}; stop its connector first with \`${commands('connector stop')}\` ` +
        `(a paused connector keeps its slot) and run it again with \`${commands('connector resume')}\` afterwards`,
      { retryable: true },
    )
  }
  const [moved] = await privileged(
    () =>
      sql<
        { lsn: string }[]
      >`select end_lsn::text as lsn from pg_replication_slot_advance(${name}, pg_current_wal_lsn())`,
  )
  return {
    from: slot.confirmedFlushLsn ?? slot.restartLsn,
    to: moved?.lsn ?? null,
    skippedBytes: slot.retainedBytes,
  }
}

/**
 * Drops a slot. Refuses the slot of a connector that still exists (it would recreate it and start
 * from "now", losing what lay between), and an active slot unless `force`, which first ends the
 * walsender holding it.
 */
export async function dropSlot(
  sql: postgres.Sql,
  name: string,
  options: { force: boolean; ownedByConnector?: string | undefined; commands?: CommandNamer },
) {
  const commands = options.commands ?? cliCommands
  const slot = await findSlot(sql, name, commands)
  if (options.ownedByConnector) {
    throw new SlotError(
      'SLOT_IN_USE_BY_CONNECTOR',
      `slot ${name} belongs to connector ${options.ownedByConnector}, which still exists; ` +
        `delete it with \`${commands('connector delete', '--drop-slot')}\` instead`,
    )
  }
  if (slot.active && !options.force) {
    throw new SlotError(
      'SLOT_ACTIVE',
      `slot ${name} is in use by pid ${slot.activePid}; add --force to end that session and drop it`,
    )
  }
  if (slot.active && slot.activePid !== null) {
    await privileged(() => sql`select pg_terminate_backend(${slot.activePid})`)
    const deadline = Date.now() + 10_000
    const stillThere = async () => (await listSlots(sql)).find((s) => s.slotName === name)
    let current = await stillThere()
    while (current?.active && Date.now() < deadline) {
      await delay(100)
      current = await stillThere()
    }
    // A temporary slot goes away with its session.
    if (!current) return slot
  }
  await privileged(() => sql`select pg_drop_replication_slot(${name})`)
  return slot
}

/**
 * The connector whose config names `slot`, if any, so a drop never pulls a slot from under one.
 * Given the slot's `database`, only a connector of that database: slot names are per database,
 * and two services on one Connect may both keep the default name.
 */
export async function connectorOwningSlot(
  connect: ConnectClient,
  slot: string,
  database?: string,
): Promise<string | undefined> {
  for (const name of await connect.list()) {
    const config = await connect.getConfig(name)
    if (config?.['slot.name'] !== slot) continue
    if (database === undefined || config['database.dbname'] === database) return name
  }
  return undefined
}
