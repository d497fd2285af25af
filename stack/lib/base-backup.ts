import { chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { copyFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { connectPostgres } from 'outbox-cdc'
import { StackError } from './errors.ts'

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
