import { spawnSync } from 'node:child_process'
import { chownSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { expect } from 'vitest'
import { findFreePort } from '../stack/lib/ports.ts'
import { newestPgBin } from '../stack/lib/prereqs.ts'

export interface ThrowawayPostgres {
  /** The superuser on the `postgres` database; no password (trust, loopback only). */
  adminUrl: string
  /** Creates a pgoutput slot and writes WAL past max_slot_wal_keep_size until Postgres invalidates it. */
  lostSlot(name: string): Promise<void>
  stop(): void
}

/** As root, initdb and the server must run as the `postgres` OS user (they refuse root). */
function asServerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  return { uid: id('-u'), gid: id('-g') }
}

/**
 * A Postgres server of one test file's own, for what the shared server must not do: a slot is
 * only invalidated (wal_status `lost`) by max_slot_wal_keep_size, which is server-wide, and a tiny
 * value on the shared server would invalidate every other test's slot too. 1 MB WAL segments make
 * that a matter of a few MB of writes. Trust auth on loopback: it lives for seconds, in a temp dir.
 */
export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const pgBin = newestPgBin('/usr/lib/postgresql')
  if (!pgBin) throw new Error('no PostgreSQL server binaries')
  const dir = mkdtempSync(join(tmpdir(), 'it-pg-'))
  const user = asServerUser()
  if (user) chownSync(dir, user.uid, user.gid)
  const run = (tool: string, args: string[]) => {
    const [command, all] = user
      ? ['runuser', ['-u', 'postgres', '--', join(pgBin, tool), ...args]]
      : [join(pgBin, tool), args]
    const result = spawnSync(command, all as string[], { encoding: 'utf8', timeout: 60_000 })
    if (result.status !== 0) throw new Error(`${tool} failed: ${result.stdout}${result.stderr}`)
  }
  const data = join(dir, 'data')
  const port = await findFreePort()
  run('initdb', ['-D', data, '--wal-segsize=1', '-A', 'trust', '-U', 'postgres'])
  const options = [
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c wal_level=logical -c fsync=off`,
    '-c max_slot_wal_keep_size=1MB -c max_wal_size=2MB -c min_wal_size=2MB',
  ].join(' ')
  run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start'])
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`

  return {
    adminUrl,
    async lostSlot(name) {
      const sql = postgres(adminUrl, { max: 1, onnotice: () => {} })
      try {
        await sql`select pg_create_logical_replication_slot(${name}, 'pgoutput')`
        await sql`create table if not exists wal_filler (filler text)`
        const state = async () => {
          await sql`insert into wal_filler select repeat('x', 1000) from generate_series(1, 3000)`
          await sql`select pg_switch_wal()`
          await sql`checkpoint`
          const [slot] = await sql`select wal_status from pg_replication_slots where slot_name = ${name}`
          return slot?.wal_status
        }
        await expect.poll(state, { timeout: 30_000 }).toBe('lost')
      } finally {
        await sql.end()
      }
    },
    stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
