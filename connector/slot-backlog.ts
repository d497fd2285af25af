import type postgres from 'postgres'
import type { ConnectClient } from '../lib/connect-client.ts'
import { SlotError, type SlotInfo } from './slots.ts'

/** What a slot holds that its consumer has not confirmed: lost for good if the slot is dropped. */
export interface SlotBacklog {
  slotName: string
  /** WAL between the slot's confirmed position and now. */
  unconfirmedBytes: number
  /** Outbox rows inserted in that WAL and published: events never delivered if the slot goes. */
  unconfirmedEvents: number
}

/** pgoutput's Insert message: 'I', then the relation's OID as a 32-bit big-endian integer. */
const insertTag = 0x49

/**
 * Counts the outbox events a slot has not confirmed, without touching the slot: it decodes a
 * temporary copy (pg_copy_logical_replication_slot), which works while the connector still
 * streams the original and vanishes with this session. `sql` must be connected to the slot's
 * database as a role that may manage slots.
 */
export async function slotBacklog(
  sql: postgres.Sql,
  slot: Pick<SlotInfo, 'slotName' | 'plugin'>,
  publication: string,
): Promise<SlotBacklog> {
  if (slot.plugin !== 'pgoutput')
    throw new SlotError('NOT_PERMITTED', `slot ${slot.slotName} uses ${slot.plugin}; only pgoutput is read`)
  const copy = `backlog_${process.pid}_${Date.now().toString(36)}`
  return sql.begin(async (tx) => {
    const [lag] = await tx<{ bytes: number }[]>`
      select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 as bytes
      from pg_replication_slots where slot_name = ${slot.slotName}`
    if (!lag) throw new SlotError('SLOT_NOT_FOUND', `no replication slot named ${slot.slotName}`)
    await tx`select pg_copy_logical_replication_slot(${slot.slotName}, ${copy}, true)`
    const [outbox] = await tx<{ oid: number }[]>`select 'public.outbox'::regclass::oid::int8 as oid`
    const changes = await tx<{ data: Buffer }[]>`
      select data from pg_logical_slot_peek_binary_changes(${copy}, null, null,
        'proto_version', '1', 'publication_names', ${publication})`
    await tx`select pg_drop_replication_slot(${copy})`
    const unconfirmedEvents = changes.filter(
      ({ data }) => data[0] === insertTag && data.length >= 5 && data.readUInt32BE(1) === Number(outbox?.oid),
    ).length
    return { slotName: slot.slotName, unconfirmedBytes: lag.bytes ?? 0, unconfirmedEvents }
  })
}

/**
 * Slots on this database (and physical slots) that no connector of the Connect cluster owns: a
 * connector owns the logical slot its `slot.name` names on the database its `database.dbname`
 * names. A slot of the same name on another database is not its own (one Connect cluster often
 * serves several databases, each with the default slot name), and no connector owns a physical
 * slot. Each pins WAL until dropped, and whoever holds one reads every change it decodes.
 */
export async function unownedSlots(sql: postgres.Sql, connect: ConnectClient): Promise<string[]> {
  const slots = await sql<{ slotName: string; database: string | null }[]>`
    select slot_name as "slotName", database from pg_replication_slots
    where database = current_database() or database is null order by slot_name`
  if (slots.length === 0) return []
  const owned = new Set<string>()
  for (const name of await connect.list()) {
    const config = await connect.getConfig(name)
    const slotName = config?.['slot.name']
    if (slotName && config?.['database.dbname']) owned.add(`${config['database.dbname']}/${slotName}`)
  }
  return slots
    .filter((s) => s.database === null || !owned.has(`${s.database}/${s.slotName}`))
    .map((s) => s.slotName)
}
