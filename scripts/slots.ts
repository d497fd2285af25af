import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { z } from 'zod'
import { advanceSlot, connectorOwningSlot, dropSlot, humanBytes, listSlots } from '../connector/slots.ts'
import { httpUrl, parseEnv, postgresUrl } from '../lib/config.ts'
import { createConnectClient } from '../lib/connect-client.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

const slotsEnv = z.object({
  DATABASE_ADMIN_URL: postgresUrl,
  CONNECT_URL: httpUrl,
})

/** `npm run slots:list [-- --json]`, `slots:advance -- <slot> --yes`, `slots:drop -- <slot> [--force]`. */
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
      console.error('usage: slots.ts list [--json] | advance <slot> --yes | drop <slot> [--force]')
      return 2
    }
    if (command === 'advance') {
      const moved = await advanceSlot(sql, slot, { confirm: values.yes ?? false })
      const result = { slot, ...moved }
      console.log(
        values.json
          ? JSON.stringify(result)
          : `advanced ${slot} from ${moved.from} to ${moved.to}, skipping ${humanBytes(moved.skippedBytes)}`,
      )
      return 0
    }
    const owner = await connectorOwningSlot(createConnectClient(env.CONNECT_URL), slot).catch(
      (cause: unknown) => {
        if (values.force) return undefined
        throw new Error(
          `cannot reach Connect at ${env.CONNECT_URL} to check that no connector uses ${slot}; add --force to drop anyway`,
          {
            cause,
          },
        )
      },
    )
    await dropSlot(sql, slot, { force: values.force ?? false, ownedByConnector: owner })
    console.log(values.json ? JSON.stringify({ slot, dropped: true }) : `dropped replication slot ${slot}`)
    return 0
  } finally {
    await sql.end({ timeout: 2 })
  }
})
