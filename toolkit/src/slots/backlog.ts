import type postgres from 'postgres'
import type { ConnectClient } from '../connector/connect-client.ts'
import { connectPostgres } from '../security/postgres.ts'
import { humanBytes, listSlots, SlotError, type SlotInfo } from './slots.ts'

/** What a slot holds that its consumer has not confirmed: what it has not delivered of that is lost with the slot. */
export interface SlotBacklog {
  slotName: string
  /** WAL between the slot's confirmed position and now. */
  unconfirmedBytes: number
  /**
   * Inserts the publication sends from that WAL, into any of its tables but the heartbeat's: the
   * events the connector has not confirmed. An upper bound on what dropping the slot loses: Debezium
   * confirms only at an offset flush after a heartbeat (seconds to a minute after delivery), and a
   * stopped or paused task confirms nothing, so some of these may be in Kafka already.
   */
  unconfirmedEvents: number
  /**
   * The slot is invalidated (wal_status `lost`): the WAL it needed is gone, and with it whatever it
   * held, so there is nothing left to count (unconfirmedEvents is 0) and dropping it loses nothing more.
   */
  lost: boolean
}

/** "12 event(s) in 3.1 KiB of WAL not yet confirmed": what a slot holds that its consumer has not confirmed. */
export const describeBacklog = (b: SlotBacklog) =>
  b.lost
    ? 'lost (wal_status lost): the WAL it needed is gone, so there is no backlog to count, and what of it the connector had not read is lost'
    : `${b.unconfirmedEvents} event(s) in ${humanBytes(b.unconfirmedBytes)} of WAL not yet confirmed`

/**
 * Why an unconfirmed count is not a count of undelivered events, and how to be sure: said with
 * every count that asks for --yes or reports a drop, so nobody reads it as "never delivered".
 */
export const unconfirmedCaveat =
  'some may already be in Kafka: Debezium confirms what it delivered only at its next offset flush after a heartbeat ' +
  '(offset.flush.interval.ms, the connector heartbeat interval), and a stopped or paused connector confirms nothing'

/** How to make the count exact before dropping: let a running connector confirm. */
export const untilConfirmedHint =
  'to be sure, let the connector run until the count reaches 0 (resume it if paused or stopped)'

/** The line that reports a dropped slot and what went with it. */
export const describeDrop = (slotName: string, b: SlotBacklog) =>
  b.lost
    ? `dropped replication slot ${slotName}, which was ${describeBacklog(b)}`
    : b.unconfirmedEvents === 0
      ? `dropped replication slot ${slotName}; ${describeBacklog(b)}`
      : `dropped replication slot ${slotName}; ${describeBacklog(b)} went with it (${unconfirmedCaveat}; the rest are lost)`

/** The refusal for a slot holding unconfirmed events: what is at stake, and how to be sure. */
export const unconfirmedRefusal = (slotName: string, events: number, nothingWas: 'dropped' | 'deleted') =>
  `dropping ${slotName} discards the ${events} event(s) it has not confirmed; ${unconfirmedCaveat}, the rest would be lost. ` +
  `Nothing was ${nothingWas}; ${untilConfirmedHint}, or run again with --yes if that is what you want.`

/** pgoutput (protocol 1) message tags: a Relation names a table, an Insert points at one by OID. */
const relationTag = 0x52
const insertTag = 0x49

/**
 * The events among decoded pgoutput messages: every Insert except into `ignoredTable`
 * (`schema.name`). pgoutput sends a table's Relation message ('R', OID, schema, name as
 * NUL-terminated strings) before its first change in a decoding session, so the OIDs resolve
 * without reading pg_class (which might have changed since); an Insert into a table never named still
 * counts, since a count that errs must err towards asking.
 */
export function countPublishedInserts(messages: readonly Buffer[], ignoredTable: string): number {
  const ignoredOids = new Set<number>()
  let count = 0
  for (const data of messages) {
    if (data.length < 5) continue
    if (data[0] === relationTag) {
      const schemaEnd = data.indexOf(0, 5)
      const nameEnd = data.indexOf(0, schemaEnd + 1)
      if (schemaEnd < 0 || nameEnd < 0) continue
      const name = `${data.toString('utf8', 5, schemaEnd)}.${data.toString('utf8', schemaEnd + 1, nameEnd)}`
      if (name === ignoredTable) ignoredOids.add(data.readUInt32BE(1))
      else ignoredOids.delete(data.readUInt32BE(1))
    } else if (data[0] === insertTag && !ignoredOids.has(data.readUInt32BE(1))) {
      count += 1
    }
  }
  return count
}

/**
 * Counts the events a slot has not confirmed (see SlotBacklog), without touching the slot: it
 * decodes a temporary copy (pg_copy_logical_replication_slot), which works while the connector
 * still streams the original and vanishes with this session. It reads the publication, not the
 * connector's config, so it works with Connect down or the connector gone. A lost slot cannot be
 * copied (Postgres refuses) and has nothing to count: it comes back `lost`. `sql` must be
 * connected to the slot's database as a role that may manage slots.
 */
export async function slotBacklog(
  sql: postgres.Sql,
  slot: Pick<SlotInfo, 'slotName' | 'plugin'>,
  publication: string,
  /** The table the connector's heartbeat writes (schema-qualified): its inserts are not events. */
  heartbeatTable: string,
): Promise<SlotBacklog> {
  if (slot.plugin !== 'pgoutput')
    throw new SlotError('NOT_COUNTABLE', `slot ${slot.slotName} uses ${slot.plugin}; only pgoutput is read`)
  const copy = `backlog_${process.pid}_${Date.now().toString(36)}`
  const position = async (q: postgres.Sql | postgres.TransactionSql) => {
    const [row] = await q<{ bytes: number | null; walStatus: string | null }[]>`
      select pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 as bytes,
             wal_status as "walStatus"
      from pg_replication_slots where slot_name = ${slot.slotName}`
    if (!row) throw new SlotError('SLOT_NOT_FOUND', `no replication slot named ${slot.slotName}`)
    return row
  }
  const lost = (bytes: number | null): SlotBacklog => ({
    slotName: slot.slotName,
    unconfirmedBytes: bytes ?? 0,
    unconfirmedEvents: 0,
    lost: true,
  })
  try {
    return await sql.begin(async (tx) => {
      const lag = await position(tx)
      if (lag.walStatus === 'lost') return lost(lag.bytes)
      const [known] = await tx`select 1 from pg_publication where pubname = ${publication}`
      if (!known)
        throw new SlotError(
          'NOT_COUNTABLE',
          `no publication ${publication} on the database of ${slot.slotName}, so its events cannot be decoded`,
        )
      await tx`select pg_copy_logical_replication_slot(${slot.slotName}, ${copy}, true)`
      const changes = await tx<{ data: Buffer }[]>`
        select data from pg_logical_slot_peek_binary_changes(${copy}, null, null,
          'proto_version', '1', 'publication_names', ${publication})`
      await tx`select pg_drop_replication_slot(${copy})`
      const data = changes.map((c) => c.data)
      return {
        slotName: slot.slotName,
        unconfirmedBytes: lag.bytes ?? 0,
        unconfirmedEvents: countPublishedInserts(data, heartbeatTable),
        lost: false,
      }
    })
  } catch (error) {
    // Invalidated between the look and the copy (a checkpoint can do it at any moment).
    const now = await position(sql).catch(() => undefined)
    if (now?.walStatus === 'lost') return lost(now.bytes)
    throw error
  }
}

/**
 * The backlog of the slot named `slotName` (see slotBacklog), read on the slot's own database,
 * since logical decoding is per database: `adminUrl` names the server and a role that may manage
 * slots, and its database is swapped for the slot's. undefined when there is no such slot.
 */
export async function backlogOnItsDatabase(
  admin: postgres.Sql,
  adminUrl: string,
  slotName: string,
  publication: string,
  heartbeatTable: string,
): Promise<SlotBacklog | undefined> {
  const slot = (await listSlots(admin)).find((s) => s.slotName === slotName)
  if (!slot) return undefined
  const url = new URL(adminUrl)
  url.pathname = `/${slot.database ?? ''}`
  const onDatabase = connectPostgres(url.toString(), { max: 1, onnotice: () => {} })
  try {
    return await slotBacklog(onDatabase, slot, publication, heartbeatTable)
  } finally {
    await onDatabase.end({ timeout: 2 })
  }
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
