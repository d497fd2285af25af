import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectPostgres } from 'outbox-cdc'
import { afterAll, describe, expect, it } from 'vitest'
import { waitUntil } from '../../lib/wait-until.ts'
import { writeTarget } from '../../stack/lib/forwarder.ts'
import { killProcessGroup, readRecord } from '../../stack/lib/processes.ts'
import { processesUnder } from '../support.ts'
import { mainConfig, ownStackEnv, runScript, stackPorts } from './own-stack.ts'

/**
 * STACK_POSTGRES_STANDBY on a stack folder of its own, on Postgres 18: a primary, a hot standby
 * copied from it and streaming, and the address on POSTGRES_PORT that follows the primary. A
 * failover slot reaches the standby; the primary is SIGKILLed and never restarted; stack:failover
 * refuses while the connector's slot has no synced copy, then promotes the standby, which carries
 * the data and the slot; the next stack:up makes the old primary a standby again.
 */
describe.skipIf(mainConfig.env.STACK_MODE !== 'native')('a stack with a Postgres standby', async () => {
  const stackDir = mkdtempSync(join(tmpdir(), 'outbox-pg-standby-it-'))
  // The address, then the two nodes on the ports after it.
  const { base, ports } = await stackPorts(3)
  const env = {
    ...ownStackEnv(stackDir, ports),
    STACK_POSTGRES_VERSION: '18',
    STACK_POSTGRES_STANDBY: '1',
  }
  const cli = (script: string, args: string[] = [], extra: Record<string, string> = {}) =>
    runScript({ ...env, ...extra }, script, args)
  const password = () => readFileSync(join(stackDir, 'secrets', 'postgres-admin.password'), 'utf8').trim()
  const on = (port: number) =>
    connectPostgres(`postgres://postgres:${password()}@127.0.0.1:${port}/postgres`, {
      max: 1,
      onnotice: () => {},
    })
  const query = async <T>(port: number, run: (sql: ReturnType<typeof on>) => Promise<T>) => {
    const sql = on(port)
    try {
      return await run(sql)
    } finally {
      await sql.end({ timeout: 2 })
    }
  }
  /** Waits until the node at `port` has `count` rows in `kept` (not there yet, the table itself perhaps: not yet). */
  const untilRows = (port: number, count: number, what: string) =>
    waitUntil(
      what,
      () =>
        query(port, async (sql) => (await sql`select count(*)::int as n from kept`)[0]?.n === count).catch(
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 250 },
    )
  const setting = (port: number, name: string) =>
    query(port, async (sql) => (await sql.unsafe(`select current_setting('${name}') as v`))[0]?.v)
  const status = () => JSON.parse(cli('stack-status', ['--json']).output).postgres
  const roles = () =>
    status().standby.nodes.map((n: { name: string; role: string | null }) => [n.name, n.role])

  /**
   * Waits until `standby` holds a synced copy of fo_slot. The standby copies a slot once the slot's
   * catalog horizon has passed the standby's: a connector reading it moves it on, as this does (a
   * snapshot of running transactions lets the advance move the catalog horizon too).
   */
  const untilSynced = (standby: string) =>
    waitUntil(
      `${standby} to hold a synced copy of fo_slot`,
      async () => {
        await query(base, async (sql) => {
          await sql`select pg_log_standby_snapshot()`
          await sql`select pg_replication_slot_advance('fo_slot', pg_current_wal_lsn())`
        })
        return status().standby.nodes.some(
          (n: { name: string; slots: { slotName: string; synced: boolean }[] }) =>
            n.name === standby && n.slots.some((s) => s.slotName === 'fo_slot' && s.synced),
        )
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    )

  afterAll(() => {
    cli('stack-down', ['--purge'])
    rmSync(stackDir, { recursive: true, force: true })
  }, 120_000)

  it('streams to a standby, which keeps a synced copy of a failover slot', { timeout: 400_000 }, async () => {
    const up = cli('stack-up')
    expect(up.code, up.output).toBe(0)
    expect(status()).toMatchObject({ healthy: true, major: 18, standby: { primary: 'postgres' } })
    expect(roles()).toEqual([
      ['postgres', 'primary'],
      ['postgres-2', 'standby'],
    ])
    // Written through the address, read on the standby's own port.
    await query(base, async (sql) => {
      await sql`create table kept (id int primary key)`
      await sql`insert into kept values (1)`
      await sql`create publication kept_pub for table kept`
      await sql`select pg_create_logical_replication_slot('fo_slot', 'pgoutput', false, false, true)`
      await sql`insert into kept values (2)`
      await sql`select pg_replication_slot_advance('fo_slot', pg_current_wal_lsn())`
    })
    await untilRows(base + 2, 2, 'the standby to have both rows')
    await untilSynced('postgres-2')
  })

  it('fails over to it when the primary is lost for good, refusing while the slot has no synced copy', {
    timeout: 300_000,
  }, async () => {
    const primary = readRecord(join(stackDir, 'postgres', 'process.json'))
    if (!primary) throw new Error('no primary process recorded')
    await killProcessGroup(primary)

    const refused = cli('stack-failover', [], { CONNECTOR_SLOT_NAME: 'never_made' })
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/FAILOVER_UNSAFE.*postgres-2 holds no synced copy of never_made/s)
    expect(status().standby.primary).toBe('postgres')

    const done = cli('stack-failover', [], { CONNECTOR_SLOT_NAME: 'fo_slot' })
    expect(done.code, done.output).toBe(0)
    expect(done.output).toContain('postgres-2 is the primary now')
    // The address now leads to the promoted standby, with the data and the slot.
    await waitUntil(
      'the address to reach a primary',
      () =>
        query(base, async (sql) => (await sql`select pg_is_in_recovery() as r`)[0]?.r === false).catch(
          () => false,
        ),
      { timeoutMs: 30_000, intervalMs: 250 },
    )
    await query(base, async (sql) => {
      expect((await sql`select count(*)::int as n from kept`)[0]?.n).toBe(2)
      await sql`insert into kept values (3)`
      // A slot a connector can go on from: it moves on the new primary.
      await sql`select pg_replication_slot_advance('fo_slot', pg_current_wal_lsn())`
    })
    // The lost primary stayed dead.
    expect(processesUnder(join(stackDir, 'postgres', 'data'))).toEqual([])
    // Alone, the new primary holds nothing back for a standby it does not have yet.
    expect(await setting(base, 'synchronized_standby_slots')).toBe('')
  })

  it('makes the old primary a standby of the new one at the next stack:up', {
    timeout: 400_000,
  }, async () => {
    const up = cli('stack-up')
    expect(up.code, up.output).toBe(0)
    expect(up.output).toMatch(
      /postgres was the primary before a failover: .* its old data kept in \S+data\.retired-/,
    )
    // With a standby again, the primary holds decoding back for it, without a restart.
    expect(await setting(base, 'synchronized_standby_slots')).toBe('postgres_standby')
    expect(roles()).toEqual([
      ['postgres', 'standby'],
      ['postgres-2', 'primary'],
    ])
    await untilRows(base + 1, 3, 'the rebuilt standby to have all three rows')
  })

  it('switches over with the primary running: every row it committed is on the new primary', {
    timeout: 300_000,
  }, async () => {
    // The rebuilt standby copies the slot again.
    await untilSynced('postgres')
    // A slot the standby cannot copy (not a failover slot) is refused, then let through once gone.
    await query(base, (sql) => sql`select pg_create_logical_replication_slot('plain_slot', 'pgoutput')`)
    const refused = cli('stack-failover', [], { CONNECTOR_SLOT_NAME: 'fo_slot' })
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/FAILOVER_UNSAFE.*plain_slot is not a failover slot/s)
    await query(base, (sql) => sql`select pg_drop_replication_slot('plain_slot')`)
    // Written and committed on the primary (async: no commit waited for the standby) right before.
    await query(base, (sql) => sql`insert into kept select g from generate_series(100, 2099) as g`)
    const done = cli('stack-failover', [], { CONNECTOR_SLOT_NAME: 'fo_slot' })
    expect(done.code, done.output).toBe(0)
    expect(done.output).toContain('fast shutdown')
    expect(roles()).toEqual([
      ['postgres', 'primary'],
      ['postgres-2', null],
    ])
    await untilRows(base, 2003, 'every row on the new primary')
  })

  it('finishes, run again, a failover that stopped after moving the address; stack:up refuses till then', {
    timeout: 400_000,
  }, async () => {
    const up = cli('stack-up')
    expect(up.code, up.output).toBe(0)
    await untilSynced('postgres-2')
    // What a failover leaves when it stops after its first steps: the primary fenced and retired,
    // the address on the standby, the standby not promoted.
    const primary = readRecord(join(stackDir, 'postgres', 'process.json'))
    if (!primary) throw new Error('no primary process recorded')
    await killProcessGroup(primary)
    writeFileSync(join(stackDir, 'postgres', 'retired'), 'a failover stopped here\n')
    writeTarget(join(stackDir, 'postgres-address', 'target.json'), {
      host: '127.0.0.1',
      port: base + 2,
      node: 'postgres-2',
    })
    const address = readRecord(join(stackDir, 'postgres-address', 'process.json'))
    if (address) process.kill(address.pid, 'SIGHUP')

    const refused = cli('stack-up')
    expect(refused.code).not.toBe(0)
    expect(refused.output).toMatch(/postgres-2 the primary, but it is still a standby.*stack:failover/s)
    const finished = cli('stack-failover')
    expect(finished.code, finished.output).toBe(0)
    expect(finished.output).toContain('finishing a failover that stopped before its promotion')
    await untilRows(base, 2003, 'the address to reach the promoted primary with every row')
    const again = cli('stack-up')
    expect(again.code, again.output).toBe(0)
    expect(roles()).toEqual([
      ['postgres', 'standby'],
      ['postgres-2', 'primary'],
    ])
  })

  it('is stopped whole by stack:down: both nodes and the address', { timeout: 120_000 }, () => {
    const down = cli('stack-down')
    expect(down.code, down.output).toBe(0)
    expect(down.output).toMatch(/postgres-address\s+stopped/)
    expect(processesUnder(stackDir)).toEqual([])
  })
})
