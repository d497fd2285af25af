import { spawn, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { advanceSlot, connectorOwningSlot, dropSlot, isRunning, listSlots } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { newestPgBin } from '../../stack/lib/prereqs.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'
import { uniqueName } from '../support.ts'

const stack = inject('stack')

describe('replication-slot admin (slots:list, slots:advance, slots:drop)', () => {
  let p: Pipeline
  let sql: postgres.Sql
  beforeAll(async () => {
    p = await startPipeline(stack, { consumer: false })
    sql = postgres(p.db.url, { max: 2, onnotice: () => {} })
    await sql`create table churn (id serial primary key, filler text)`
  })
  afterAll(async () => {
    await sql?.end()
    await p?.stop()
  })

  const newSlot = async () => {
    const name = uniqueName('it_slot').toLowerCase()
    await sql`select pg_create_logical_replication_slot(${name}, 'pgoutput')`
    return name
  }
  /** `npm run slots:<command>` as a user runs it; by default with Connect unreachable (nothing listens on port 9). */
  const slotsCli = (args: string[], connectUrl = 'http://127.0.0.1:9', adminUrl = p.db.url) => {
    const result = spawnSync(
      join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [join(repoRoot, 'scripts', 'outbox-cdc.ts'), 'slots', ...args],
      {
        env: { ...process.env, DATABASE_ADMIN_URL: adminUrl, CONNECT_URL: connectUrl },
        encoding: 'utf8',
        timeout: 120_000,
      },
    )
    return { code: result.status, output: `${result.stdout}${result.stderr}` }
  }
  const slotExists = async (name: string) => (await listSlots(sql)).some((s) => s.slotName === name)
  /** An event as the services write one: inserted into an outbox and deleted in one transaction. */
  const appendEvent = (table: 'outbox' | 'fulfilment_outbox') =>
    sql.begin(async (tx) => {
      const id = randomUUID()
      await tx`insert into ${tx(table)} (id, aggregate_type, aggregate_id, event_type, payload, created_at)
        values (${id}, 'it', ${id}, 'ItHappened', '{}'::jsonb, now() at time zone 'utc')`
      await tx`delete from ${tx(table)} where id = ${id}`
    })
  const churn = () => sql`insert into churn (filler) select repeat('x', 1000) from generate_series(1, 500)`

  it('lists each slot with plugin, database, activity, LSNs, retained WAL and wal_status', async () => {
    const name = await newSlot()
    await churn()
    const slot = (await listSlots(sql)).find((s) => s.slotName === name)
    expect(slot).toMatchObject({
      plugin: 'pgoutput',
      slotType: 'logical',
      database: p.db.name,
      active: false,
      walStatus: 'reserved',
    })
    expect(slot?.retainedBytes).toBeGreaterThan(500_000)
    expect(slot?.restartLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    const connectorSlot = (await listSlots(sql)).find(
      (s) => s.slotName === p.connectorEnv.CONNECTOR_SLOT_NAME,
    )
    expect(connectorSlot?.active).toBe(true)
    await dropSlot(sql, name, { force: false })
  })

  it('advances only with confirmation, releasing the retained WAL', async () => {
    const name = await newSlot()
    await churn()
    const before = (await listSlots(sql)).find((s) => s.slotName === name)
    await expect(advanceSlot(sql, name, { confirm: false })).rejects.toMatchObject({
      code: 'CONFIRMATION_REQUIRED',
    })
    await expect(advanceSlot(sql, name, { confirm: false })).rejects.toThrow(/will never be delivered/)
    expect((await listSlots(sql)).find((s) => s.slotName === name)?.confirmedFlushLsn).toBe(
      before?.confirmedFlushLsn,
    )

    // A logical slot's restart_lsn only moves at a running-transactions record; a checkpoint writes one.
    await sql`checkpoint`
    const moved = await advanceSlot(sql, name, { confirm: true })
    expect(moved.skippedBytes).toBeGreaterThan(500_000)
    const after = (await listSlots(sql)).find((s) => s.slotName === name)
    const [gap] = await sql<{ bytes: number }[]>`
      select pg_wal_lsn_diff(${after?.confirmedFlushLsn ?? '0/0'}::pg_lsn, ${before?.confirmedFlushLsn ?? '0/0'}::pg_lsn)::float8 as bytes`
    expect(gap?.bytes).toBeGreaterThan(500_000)
    // Released: the slot's restart_lsn, before which Postgres may recycle WAL, moves past what
    // was skipped. It moves at a running-transactions record that no older transaction holds
    // back, and other test files write and run transactions meanwhile: checkpoint until it does.
    // (retainedBytes, measured to the current WAL end, grows with their WAL too.)
    const released = async () => {
      await sql`checkpoint`
      const now = (await listSlots(sql)).find((s) => s.slotName === name)
      const [moved] = await sql<{ bytes: number }[]>`
        select pg_wal_lsn_diff(${now?.restartLsn ?? '0/0'}::pg_lsn, ${before?.restartLsn ?? '0/0'}::pg_lsn)::float8 as bytes`
      return moved?.bytes ?? 0
    }
    await expect.poll(released, { timeout: 20_000, interval: 500 }).toBeGreaterThan(500_000)
    await dropSlot(sql, name, { force: false })
  })

  it('advances a slot of another database than the admin URL names, as the local stack’s DATABASE_ADMIN_URL (database postgres) does', async () => {
    const name = await newSlot()
    await churn()
    const advanced = slotsCli(['advance', name, '--yes'], stack.connect.url, stack.postgres.adminUrl)
    expect(advanced.code, advanced.output).toBe(0)
    expect(advanced.output).toMatch(new RegExp(`advanced ${name} from \\S+ to \\S+`))
    await sql`select pg_drop_replication_slot(${name})`
  })

  it('advances nothing while Connect cannot say whether a connector reads the slot (its position would need resetting)', async () => {
    const name = await newSlot()
    await churn()
    const before = (await listSlots(sql)).find((s) => s.slotName === name)?.confirmedFlushLsn
    const refused = slotsCli(['advance', name, '--yes'])
    expect(refused.code).toBe(1)
    expect(refused.output).toMatch(
      /OWNER_UNKNOWN: cannot tell whether a connector reads .*nothing was advanced/,
    )
    expect((await listSlots(sql)).find((s) => s.slotName === name)?.confirmedFlushLsn).toBe(before)
    await sql`select pg_drop_replication_slot(${name})`
  })

  it('refuses an unknown slot, a connector’s slot, and an active slot without --force', async () => {
    await expect(advanceSlot(sql, 'no_such_slot', { confirm: true })).rejects.toMatchObject({
      code: 'SLOT_NOT_FOUND',
    })
    await expect(dropSlot(sql, 'no_such_slot', { force: true })).rejects.toMatchObject({
      code: 'SLOT_NOT_FOUND',
    })

    const slot = p.connectorEnv.CONNECTOR_SLOT_NAME
    const owner = await connectorOwningSlot(p.connect, slot)
    expect(owner).toBe(p.connectorEnv.CONNECTOR_NAME)
    await expect(dropSlot(sql, slot, { force: true, ownedByConnector: owner })).rejects.toMatchObject({
      code: 'SLOT_IN_USE_BY_CONNECTOR',
    })
    // Without the connector check, the slot is still active: refused unless forced.
    await expect(dropSlot(sql, slot, { force: false })).rejects.toMatchObject({ code: 'SLOT_ACTIVE' })
    expect((await listSlots(sql)).some((s) => s.slotName === slot)).toBe(true)
  })

  it('--force ends the session holding an active slot, then drops it', async () => {
    const name = await newSlot()
    // Hold the slot from a replication connection, as a connector would.
    const pgBin = newestPgBin('/usr/lib/postgresql')
    if (!pgBin) throw new Error('no PostgreSQL server binaries')
    const holder = spawn(
      join(pgBin, 'pg_recvlogical'),
      [
        '-d',
        p.db.url,
        '-S',
        name,
        '--start',
        '-f',
        '/dev/null',
        '-o',
        'proto_version=1',
        '-o',
        'publication_names=outbox_publication',
      ],
      { stdio: 'ignore' },
    )
    try {
      await expect
        .poll(async () => (await listSlots(sql)).find((s) => s.slotName === name)?.active, {
          timeout: 10_000,
        })
        .toBe(true)
      await dropSlot(sql, name, { force: true })
      expect((await listSlots(sql)).some((s) => s.slotName === name)).toBe(false)
    } finally {
      holder.kill()
    }
  })

  it('with Connect unreachable, slots:drop counts what a slot holds and refuses to lose it without --yes', async () => {
    const name = await newSlot()
    await appendEvent('outbox')
    await appendEvent('fulfilment_outbox')

    const unforced = slotsCli(['drop', name])
    expect(unforced.code).toBe(1)
    expect(unforced.output).toMatch(/cannot reach Connect/)
    const refused = slotsCli(['drop', name, '--force'])
    expect(refused.code).toBe(1)
    expect(refused.output).toMatch(
      /CONFIRMATION_REQUIRED: dropping \S+ discards the 2 event\(s\) it has not confirmed/,
    )
    expect(refused.output).toContain('Nothing was dropped')
    expect(await slotExists(name)).toBe(true)

    const confirmed = slotsCli(['drop', name, '--force', '--yes'])
    expect(confirmed.code).toBe(0)
    expect(confirmed.output).toMatch(
      /dropped replication slot \S+; 2 event\(s\) in .* not yet confirmed went with it/,
    )
    expect(await slotExists(name)).toBe(false)
  })

  it('slots:drop refuses, without --yes, an orphaned slot that still holds events', async () => {
    // What connector:delete without --drop-slot leaves: no connector, the slot and its events.
    const name = await newSlot()
    await appendEvent('fulfilment_outbox')
    const refused = slotsCli(['drop', name], stack.connect.url)
    expect(refused.code).toBe(1)
    expect(refused.output).toMatch(
      /CONFIRMATION_REQUIRED: dropping \S+ discards the 1 event\(s\) it has not confirmed/,
    )
    expect(await slotExists(name)).toBe(true)
    expect(slotsCli(['drop', name, '--yes'], stack.connect.url).code).toBe(0)
    expect(await slotExists(name)).toBe(false)
  })

  it('with Connect unreachable, slots:drop --force drops a slot that holds no event only with --yes (it may be a stopped connector’s)', async () => {
    const name = await newSlot()
    await churn()
    const refused = slotsCli(['drop', name, '--force'])
    expect(refused.code).toBe(1)
    expect(refused.output).toMatch(/CONFIRMATION_REQUIRED: /)
    expect(await slotExists(name)).toBe(true)
    const result = slotsCli(['drop', name, '--force', '--yes'])
    expect(result.code).toBe(0)
    expect(result.output).toMatch(/dropped replication slot \S+; 0 event\(s\)/)
    expect(await slotExists(name)).toBe(false)
  })

  it('slots:drop refuses a physical slot without --yes: nothing in it can be counted', async () => {
    const name = uniqueName('it_phys').toLowerCase()
    await sql`select pg_create_physical_replication_slot(${name}, true)`
    const refused = slotsCli(['drop', name], stack.connect.url)
    expect(refused.code).toBe(1)
    expect(refused.output).toMatch(/CONFIRMATION_REQUIRED: .*physical/)
    expect(await slotExists(name)).toBe(true)
    expect(slotsCli(['drop', name, '--yes'], stack.connect.url).code).toBe(0)
    expect(await slotExists(name)).toBe(false)
  })

  it('says which privilege is missing when the role may not manage slots', async () => {
    const name = await newSlot()
    const role = uniqueName('it_norepl').toLowerCase()
    await sql.unsafe(`create role ${role} login password 'pw'`)
    const url = new URL(p.db.url)
    url.username = role
    url.password = 'pw'
    const weak = postgres(url.toString(), { max: 1, onnotice: () => {} })
    try {
      await expect(advanceSlot(weak, name, { confirm: true })).rejects.toMatchObject({
        code: 'NOT_PERMITTED',
      })
      await expect(dropSlot(weak, name, { force: false })).rejects.toThrow(
        /superuser or a role with REPLICATION/,
      )
    } finally {
      await weak.end()
      await sql.unsafe(`drop role ${role}`)
      await dropSlot(sql, name, { force: false })
    }
  })

  it('does not call an event already in Kafka "never delivered": it counts what the slot has not confirmed', async () => {
    // A copy of the connector's slot taken now stays where the connector had confirmed, as the
    // connector's own slot does until its next offset flush: what follows reaches Kafka through
    // the connector, and the copy still counts it.
    const name = uniqueName('it_lag').toLowerCase()
    await sql`select pg_copy_logical_replication_slot(${p.connectorEnv.CONNECTOR_SLOT_NAME}, ${name})`
    const response = await p.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title: 'delivered', author: 'A', price: 1, stock: 1 },
    })
    const bookId = response.json().id
    await expect.poll(() => p.records.some((r) => r.key === bookId), { timeout: 30_000 }).toBe(true)

    const refused = slotsCli(['drop', name], stack.connect.url)
    expect(refused.code).toBe(1)
    expect(refused.output).toMatch(/CONFIRMATION_REQUIRED: .*[1-9]\d* event\(s\)/)
    expect(refused.output).not.toMatch(/not delivered|never delivered/)
    expect(refused.output).toMatch(/not confirmed/)
    expect(refused.output).toMatch(/already be in Kafka/)
    const dropped = slotsCli(['drop', name, '--yes'], stack.connect.url)
    expect(dropped.code).toBe(0)
    expect(dropped.output).not.toMatch(/not delivered|never delivered/)
    expect(await slotExists(name)).toBe(false)
  })

  // Last in the file: a build that drops the slot leaves this file's connector FAILED for good.
  it('with Connect unreachable, slots:drop --force refuses without --yes to drop a live connector’s active slot', async () => {
    const slot = p.connectorEnv.CONNECTOR_SLOT_NAME
    const active = async () => (await listSlots(sql)).find((s) => s.slotName === slot)?.active
    await expect.poll(active, { timeout: 30_000 }).toBe(true)
    const refused = slotsCli(['drop', slot, '--force'])
    expect(refused.code).toBe(1)
    // Refused for what it holds or, with nothing counted, for being active with no owner known.
    expect(refused.output).toMatch(/CONFIRMATION_REQUIRED: .*(active|has not confirmed)/)
    expect(refused.output).toContain('Nothing was dropped')
    expect(await active()).toBe(true)
    expect(isRunning(await p.connect.status(p.connectorEnv.CONNECTOR_NAME))).toBe(true)
  })
})
