import { parseArgs } from 'node:util'
import { advanceSlot, createConnectClient, dropUnownedSlot, humanBytes, listSlots } from 'outbox-cdc'
import postgres from 'postgres'
import { z } from 'zod'
import { connectorEnvSchema } from '../connector/config.ts'
import { npmCommands } from '../lib/commands.ts'
import { httpUrl, parseEnv, postgresUrl } from '../lib/config.ts'
import { heartbeatTable } from '../lib/replication.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

const slotsEnv = z.object({
  DATABASE_ADMIN_URL: postgresUrl,
  CONNECT_URL: httpUrl,
  /** The publication a slot's events are decoded through, to count what a drop would lose. */
  CONNECTOR_PUBLICATION: connectorEnvSchema.shape.CONNECTOR_PUBLICATION,
})

/** `npm run slots:list [-- --json]`, `slots:advance -- <slot> --yes`, `slots:drop -- <slot> [--force] [--yes]`. */
runCli(async () => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
    },
  })
  const [command, slot] = positionals
  const env = parseEnv(slotsEnv, withLocalStackDefaults(), 'slots')
  const sql = postgres(env.DATABASE_ADMIN_URL, { max: 1, onnotice: () => {} })
  try {
    if (command === 'list') {
      const slots = await listSlots(sql)
      if (values.json) console.log(JSON.stringify(slots, null, 2))
      else if (slots.length === 0) console.log('no replication slots')
      else {
        for (const s of slots) {
          console.log(
            `${s.slotName}  ${s.plugin ?? s.slotType}  db=${s.database ?? '-'}  ${s.active ? `active pid ${s.activePid}` : 'inactive'}  ` +
              `restart_lsn=${s.restartLsn}  confirmed_flush_lsn=${s.confirmedFlushLsn}  ` +
              `retained=${s.retainedBytes ?? '-'} B (${humanBytes(s.retainedBytes)})  wal_status=${s.walStatus}`,
          )
        }
      }
      return 0
    }
    if (!slot || (command !== 'advance' && command !== 'drop')) {
      console.error('usage: slots.ts list [--json] | advance <slot> --yes | drop <slot> [--force] [--yes]')
      return 2
    }
    if (command === 'advance') {
      const moved = await advanceSlot(sql, slot, { confirm: values.yes ?? false, commands: npmCommands })
      const result = { slot, ...moved }
      console.log(
        values.json
          ? JSON.stringify(result)
          : `advanced ${slot} from ${moved.from} to ${moved.to}, skipping ${humanBytes(moved.skippedBytes)}`,
      )
      return 0
    }
    const dropped = await dropUnownedSlot(
      createConnectClient(env.CONNECT_URL),
      env.DATABASE_ADMIN_URL,
      {
        slotName: slot,
        publication: env.CONNECTOR_PUBLICATION,
        heartbeatTable,
        force: values.force,
        confirm: values.yes,
        commands: npmCommands,
      },
      (line) => {
        if (!values.json) console.log(line)
      },
    )
    if (values.json) console.log(JSON.stringify({ slot, dropped: true, backlog: dropped ?? null }))
    return 0
  } finally {
    await sql.end({ timeout: 2 })
  }
})
