import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import type { Admin } from 'kafkajs'
import { connectPostgres } from 'outbox-cdc'
import pRetry from 'p-retry'
import { unlessTimedOut, waitUntil } from '../lib/wait-until.ts'

/** A name no other test (or earlier run) uses: topics, groups, databases, slots. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
}

/**
 * `base` with `keys` added that read through to what `opened()` returns once a beforeAll hook has
 * set it, so a test file holds a fixture from describe time and uses its fields in tests and
 * hooks. Reading such a field before the hook ran throws, naming `what`. (Spreading the result
 * reads every field: do not.)
 */
export function readThrough<T extends object, B extends object = object>(
  what: string,
  opened: () => T | undefined,
  keys: readonly (keyof T)[],
  base: B = {} as B,
): T & B {
  const view = base as T & B
  for (const key of keys) {
    Object.defineProperty(view, key, {
      enumerable: true,
      get: () => {
        const value = opened()
        if (value === undefined) throw new Error(`${what} is read outside a test or hook`)
        return value[key]
      },
    })
  }
  return view
}

export type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>

/**
 * A fresh database on the shared server, dropped afterwards: creating one costs milliseconds,
 * starting a server costs seconds. Returns URLs for the admin and the database itself.
 */
export async function createTestDatabase(adminUrl: string, prefix = 'it') {
  const name = uniqueName(prefix).toLowerCase()
  const admin = connectPostgres(adminUrl, { max: 1, onnotice: () => {} })
  await admin`create database ${admin(name)}`
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    async drop() {
      // A logical slot pins its database, and stays active until the connector's task has
      // stopped; wait for that (seconds at most), then drop the slots and the database.
      await waitUntil(
        `the slots of database ${name} to be released`,
        async () => {
          const [busy] = await admin`select 1 from pg_replication_slots where database = ${name} and active`
          return !busy
        },
        { timeoutMs: 60_000, intervalMs: 200 },
        // Still held after a minute: the drop below says why, with Postgres' own words.
      ).catch(unlessTimedOut)
      await admin`select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = ${name}`
      await admin`drop database if exists ${admin(name)} with (force)`
      await admin.end()
    },
  }
}

/** Processes anywhere on the machine whose command line names this stack's folder. */
export function processesUnder(dir: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)
      } catch {
        return false
      }
    })
    .map(Number)
}

/**
 * The addresses something listens on at a TCP port, from /proc/net/tcp and tcp6 (state 0A,
 * LISTEN): `127.0.0.1`, `0.0.0.0`, `::1`, `::` or any other. An IPv4 address that a Java process
 * holds through an IPv6 socket (`::ffff:127.0.0.1`) is given as the IPv4 address it is.
 */
export function listenAddresses(port: number): string[] {
  const addresses: string[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local = '', , state] = line.trim().split(/\s+/)
      const [hex = '', portHex = ''] = local.split(':')
      if (state !== '0A' || Number.parseInt(portHex, 16) !== port) continue
      addresses.push(hex.length === 8 ? ipv4(hex) : ipv6(hex))
    }
  }
  return addresses
}

/** The kernel writes an IPv4 address as one little-endian word. */
const ipv4 = (hex: string) => [6, 4, 2, 0].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)).join('.')

/** And an IPv6 one as four little-endian words; only the loopback, the wildcard and IPv4 get names. */
function ipv6(hex: string): string {
  if (/^0+$/.test(hex)) return '::'
  if (hex === '00000000000000000000000001000000') return '::1'
  if (hex.startsWith('0000000000000000FFFF0000')) return ipv4(hex.slice(24))
  return hex
}

/**
 * admin.createTopics with waitForLeaders, retried while a partition's metadata has not reached
 * the broker that answers (UNKNOWN_TOPIC_OR_PARTITION, retriable): kafkajs waits out
 * LEADER_NOT_AVAILABLE only, and under the load of several files at once the other shows too.
 * A retry finds the topic made and only waits for its leaders.
 */
export function createTopics(admin: Admin, options: Parameters<Admin['createTopics']>[0]): Promise<boolean> {
  return pRetry(() => admin.createTopics({ ...options, waitForLeaders: true }), {
    retries: 8,
    minTimeout: 250,
    shouldRetry: ({ error }) => (error as { retriable?: boolean }).retriable === true,
  })
}
