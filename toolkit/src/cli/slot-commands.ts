import type postgres from 'postgres'
import { connectPostgres } from '../security/postgres.ts'
import { advanceConnectorSlot } from '../slots/advance-owned.ts'
import { dropUnownedSlot } from '../slots/drop-unowned.ts'
import { humanBytes, listSlots } from '../slots/slots.ts'
import { connectOf } from './clients.ts'
import { type CliContext, type Command, flagsOf, UsageError } from './context.ts'

const adminUrlOf = ({ config }: CliContext) => config.postgres.adminUrl ?? config.postgres.url

/** The admin role, on `database` when given (else the admin URL's own). */
async function withAdmin<T>(
  c: CliContext,
  work: (sql: postgres.Sql) => Promise<T>,
  database?: string,
): Promise<T> {
  const url = new URL(adminUrlOf(c))
  if (database) url.pathname = `/${encodeURIComponent(database)}`
  const sql = connectPostgres(url.toString(), { max: 1, onnotice: () => {} })
  try {
    return await work(sql)
  } finally {
    await sql.end({ timeout: 2 })
  }
}

function slotArgument(positionals: string[]): string {
  const [slot] = positionals
  if (!slot) throw new UsageError('name the slot')
  return slot
}

/** `slots <list|advance|drop>`: the server's replication slots, for the admin role. */
export const slotCommands: Record<string, Command> = {
  async list(c) {
    const { values } = flagsOf(c.args, { json: { type: 'boolean' } })
    const slots = await withAdmin(c, listSlots)
    if (values.json) c.out(JSON.stringify(slots, null, 2))
    else if (slots.length === 0) c.out('no replication slots')
    for (const s of values.json ? [] : slots)
      c.out(
        `${s.slotName}  ${s.plugin ?? s.slotType}  db=${s.database ?? '-'}  ${s.active ? `active pid ${s.activePid}` : 'inactive'}  ` +
          `restart_lsn=${s.restartLsn}  confirmed_flush_lsn=${s.confirmedFlushLsn}  ` +
          `retained=${s.retainedBytes ?? '-'} B (${humanBytes(s.retainedBytes)})  wal_status=${s.walStatus}`,
      )
    return 0
  },
  /** Moves an inactive slot to now, skipping what it held for good: needs --yes. */
  async advance(c) {
    const { values, positionals } = flagsOf(
      c.args,
      { json: { type: 'boolean' }, yes: { type: 'boolean' } },
      1,
    )
    const slot = slotArgument(positionals)
    // A logical slot moves only from its own database: the admin role, on the slot's database.
    const database = await withAdmin(
      c,
      async (sql) => (await listSlots(sql)).find((s) => s.slotName === slot)?.database,
    )
    const moved = await withAdmin(
      c,
      (sql) =>
        advanceConnectorSlot(sql, connectOf(c.config), slot, {
          confirm: values.yes ?? false,
          commands: c.cmd,
          database: database ?? undefined,
        }),
      database ?? undefined,
    )
    if (values.json) c.out(JSON.stringify({ slot, ...moved }))
    else {
      c.out(`advanced ${slot} from ${moved.from} to ${moved.to}, skipping ${humanBytes(moved.skippedBytes)}`)
      if (moved.resetConnector)
        c.out(
          `reset the offsets of connector ${moved.resetConnector}: \`${c.cmd('connector resume')}\` starts it where the slot now is`,
        )
    }
    return 0
  },
  /** Drops a slot no connector owns, counting first what it holds. */
  async drop(c) {
    const { values, positionals } = flagsOf(
      c.args,
      { json: { type: 'boolean' }, yes: { type: 'boolean' }, force: { type: 'boolean' } },
      1,
    )
    const slot = slotArgument(positionals)
    const dropped = await dropUnownedSlot(
      connectOf(c.config),
      adminUrlOf(c),
      {
        slotName: slot,
        publication: c.config.connector.publication,
        heartbeatTable: c.config.connector.heartbeat?.table ?? '',
        force: values.force ?? false,
        confirm: values.yes ?? false,
        commands: c.cmd,
      },
      (line) => {
        if (!values.json) c.out(line)
      },
    )
    if (values.json) c.out(JSON.stringify({ slot, dropped: true, backlog: dropped ?? null }))
    return 0
  },
}
