import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { listSlots, slotBacklog } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { heartbeatTable } from '../../lib/replication.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/** The connector admin commands, run as a user runs them, against a connector of this file's own. */
describe('connector:pause, stop, resume, validate, diff and delete --drop-slot', () => {
  let p: Pipeline
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    p = await startPipeline(stack, {
      consumer: false,
      connector: { CONNECTOR_HEARTBEAT_INTERVAL_MS: '1000' },
    })
    env = {
      ...process.env,
      ...Object.fromEntries(Object.entries(p.connectorEnv).map(([k, v]) => [k, String(v)])),
      DATABASE_ADMIN_URL: p.db.url,
    }
  })
  afterAll(async () => {
    await p?.stop()
  })

  const cli = (command: string, args: string[] = [], extra: Record<string, string> = {}) => {
    const result = spawnSync(
      join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [join(repoRoot, 'scripts', 'outbox-cdc.ts'), 'connector', command, ...args],
      {
        env: { ...env, ...extra },
        encoding: 'utf8',
        timeout: 120_000,
      },
    )
    return { code: result.status, output: `${result.stdout}${result.stderr}` }
  }
  const slots = (args: string[]) => {
    const result = spawnSync(
      join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [join(repoRoot, 'scripts', 'outbox-cdc.ts'), 'slots', ...args],
      { env, encoding: 'utf8', timeout: 120_000 },
    )
    return { code: result.status, output: `${result.stdout}${result.stderr}` }
  }
  const state = async () => (await p.connect.status(p.connectorEnv.CONNECTOR_NAME))?.tasks[0]?.state
  /** What the connector's slot holds unconfirmed, counted as connector:delete counts it; -1 without a slot. */
  const pending = async (sql: postgres.Sql) => {
    const info = (await listSlots(sql)).find((s) => s.slotName === p.connectorEnv.CONNECTOR_SLOT_NAME)
    return info
      ? (await slotBacklog(sql, info, p.connectorEnv.CONNECTOR_PUBLICATION, heartbeatTable)).unconfirmedEvents
      : -1
  }

  it('pauses and resumes, returning once the task reports the new state', async () => {
    expect(cli('pause')).toMatchObject({ code: 0, output: expect.stringMatching(/task 0: PAUSED/) })
    expect(await state()).toBe('PAUSED')
    expect(cli('resume')).toMatchObject({ code: 0, output: expect.stringMatching(/task 0: RUNNING/) })
    expect(await state()).toBe('RUNNING')
  })

  it('connector:stop releases the slot so slots:advance works (pause does not), and resume runs it again', async () => {
    const name = p.connectorEnv.CONNECTOR_NAME
    const slot = p.connectorEnv.CONNECTOR_SLOT_NAME
    const sql = postgres(p.db.url, { max: 1, onnotice: () => {} })
    const slotActive = async () => (await listSlots(sql)).find((s) => s.slotName === slot)?.active
    try {
      // A paused task keeps its replication connection: refused, with a hint that works.
      expect(cli('pause').code).toBe(0)
      const refused = slots(['advance', slot, '--yes'])
      expect(refused.code).toBe(1)
      expect(refused.output).toMatch(
        /CONNECTOR_NOT_STOPPED: .*is PAUSED: stop it first with `npm run connector:stop`/,
      )
      expect(cli('resume').code).toBe(0)

      expect(cli('stop')).toMatchObject({ code: 0, output: expect.stringMatching(/STOPPED/) })
      expect((await p.connect.status(name))?.connector.state).toBe('STOPPED')
      expect(await p.connect.getConfig(name)).toMatchObject({ 'slot.name': slot })
      // Straight after the command, as a user would: the slot is free already.
      expect(await slotActive()).toBe(false)
      expect(slots(['advance', slot, '--yes'])).toMatchObject({
        code: 0,
        output: expect.stringMatching(new RegExp(`advanced ${slot} from`)),
      })

      expect(cli('resume')).toMatchObject({ code: 0, output: expect.stringMatching(/task 0: RUNNING/) })
      await expect.poll(slotActive, { timeout: 30_000 }).toBe(true)
      const response = await p.app.inject({
        method: 'POST',
        url: '/books',
        payload: { title: 'after stop', author: 'A', price: 1, stock: 1 },
      })
      const bookId = response.json().id
      await expect.poll(() => p.records.some((r) => r.key === bookId), { timeout: 30_000 }).toBe(true)
    } finally {
      await sql.end()
    }
  })

  it('resumes after slots:advance skipped events: the stopped connector’s offsets are reset with the slot, so Debezium does not refuse the gap', async () => {
    const name = p.connectorEnv.CONNECTOR_NAME
    const slot = p.connectorEnv.CONNECTOR_SLOT_NAME
    const book = async (title: string) =>
      (
        await p.app.inject({
          method: 'POST',
          url: '/books',
          payload: { title, author: 'A', price: 1, stock: 1 },
        })
      ).json().id as string
    const delivered = await book('delivered before the stop')
    await expect.poll(() => p.records.some((r) => r.key === delivered), { timeout: 30_000 }).toBe(true)
    expect(cli('stop').code).toBe(0)
    // Where the connector will start from: its stored position (Connect 3.5+ lists the offsets).
    const offsets = (await (await fetch(`${stack.connect.url}/connectors/${name}/offsets`)).json()) as {
      offsets: { offset: { lsn_commit?: number } }[]
    }
    const stored = BigInt(offsets.offsets[0]?.offset.lsn_commit ?? 0)
    // Written while stopped, then skipped on purpose: what advancing is for (a slot pinning WAL).
    const skipped = await book('skipped by the advance')
    // Debezium refuses to start from a position older than the slot's restart_lsn. That moves to
    // a point a checkpoint logged, on an advance after the one that passed it: advance until it has.
    const admin = postgres(stack.postgres.adminUrl, { max: 1, onnotice: () => {} })
    const restartLsn = async () => {
      const [row] = await admin<{ lsn: string }[]>`
        select (restart_lsn - '0/0')::text as lsn from pg_replication_slots where slot_name = ${slot}`
      return BigInt(row?.lsn ?? 0)
    }
    let advanced = { code: 0 as number | null, output: '' }
    try {
      for (let tries = 0; tries === 0 || (tries < 5 && (await restartLsn()) <= stored); tries++) {
        await admin`checkpoint`
        await book('more WAL to advance over')
        advanced = slots(['advance', slot, '--yes'])
        expect(advanced.code, advanced.output).toBe(0)
      }
      expect(await restartLsn()).toBeGreaterThan(stored)
    } finally {
      await admin.end()
    }
    expect(advanced.output).toMatch(new RegExp(`reset the offsets of connector ${name}`))
    const resumed = cli('resume')
    expect(resumed, resumed.output).toMatchObject({
      code: 0,
      output: expect.stringMatching(/task 0: RUNNING/),
    })
    const after = await book('after the advance')
    await expect.poll(() => p.records.some((r) => r.key === after), { timeout: 30_000 }).toBe(true)
    expect(p.records.some((r) => r.key === skipped)).toBe(false)
  })

  it('connector:pause on a STOPPED connector returns once Connect reports it PAUSED (with no task)', async () => {
    const name = p.connectorEnv.CONNECTOR_NAME
    expect(cli('stop').code).toBe(0)
    const paused = cli('pause', [], { CONNECTOR_WAIT_TIMEOUT_S: '15' })
    expect(paused).toMatchObject({ code: 0, output: expect.stringMatching(/connector \S+: PAUSED/) })
    expect(await p.connect.status(name)).toMatchObject({ connector: { state: 'PAUSED' }, tasks: [] })
    expect(cli('resume')).toMatchObject({ code: 0, output: expect.stringMatching(/task 0: RUNNING/) })
  })

  it('validates the config, and diffs it against what Connect runs', () => {
    expect(cli('validate')).toMatchObject({
      code: 0,
      output: expect.stringMatching(/Connect accepts the config/),
    })
    expect(cli('diff')).toMatchObject({ code: 0, output: expect.stringMatching(/no differences/) })
    const changed = cli('diff', [], { CONNECTOR_POLL_INTERVAL_MS: '250' })
    expect(changed.code).toBe(1)
    expect(changed.output).toContain('~ poll.interval.ms: 25 → 250')
    expect(changed.output).not.toMatch(/database\.password: [^$]/)
  })

  it('reports a rejected config field by field', () => {
    const rejected = cli('validate', [], { CONNECTOR_DB_USER: 'no_such_role' })
    expect(rejected.code).toBe(1)
    expect(rejected.output).toMatch(/password authentication failed for user "no_such_role"/)
  })

  it('counts fulfilment’s pending shipment events (not heartbeats) before --drop-slot, keeping them', async () => {
    const sql = postgres(p.db.url, { max: 1, onnotice: () => {} })
    try {
      await expect.poll(() => pending(sql), { timeout: 30_000 }).toBe(0)
      expect(cli('pause').code).toBe(0)
      // A shipment event as fulfilment writes it (inserted and deleted at once), and a heartbeat.
      const orderId = randomUUID()
      await sql.begin(async (tx) => {
        await tx`insert into fulfilment_outbox (id, aggregate_type, aggregate_id, event_type, payload, created_at)
          values (${randomUUID()}, 'shipment', ${orderId}, 'ShipmentDispatched', ${JSON.stringify({ orderId })}::jsonb, now() at time zone 'utc')`
        await tx`delete from fulfilment_outbox`
      })
      await sql`insert into outbox_heartbeat (beat_at) values (now())`
      expect(await pending(sql)).toBe(1)

      const refused = cli('delete', ['--drop-slot'])
      expect(refused.code).toBe(1)
      expect(refused.output).toMatch(
        /CONFIRMATION_REQUIRED: dropping \S+ discards the 1 event\(s\) it has not confirmed/,
      )
      expect(await p.connect.status(p.connectorEnv.CONNECTOR_NAME)).toBeDefined()

      // Kept, so the connector delivers it once resumed.
      expect(cli('resume').code).toBe(0)
      await expect
        .poll(() => p.records.some((r) => r.topic === `${p.namespace}.shipment` && r.key === orderId), {
          timeout: 30_000,
        })
        .toBe(true)
    } finally {
      await sql.end()
    }
  })

  it('refuses --drop-slot without --yes, saying how many events it has not confirmed, and changes nothing; with --yes, a later register starts afresh', async () => {
    const sql = postgres(p.db.url, { max: 1, onnotice: () => {} })
    const slot = p.connectorEnv.CONNECTOR_SLOT_NAME
    try {
      // Let the connector confirm what startPipeline wrote, then hold new events back.
      await expect.poll(() => pending(sql), { timeout: 30_000 }).toBe(0)
      expect(cli('pause').code).toBe(0)
      for (const title of ['one', 'two', 'three']) {
        const response = await p.app.inject({
          method: 'POST',
          url: '/books',
          payload: { title, author: 'A', price: 1, stock: 1 },
        })
        expect(response.statusCode).toBe(201)
      }
      expect(await pending(sql)).toBe(3)

      const refused = cli('delete', ['--drop-slot'])
      expect(refused.code).toBe(1)
      expect(refused.output).toMatch(
        /CONFIRMATION_REQUIRED: dropping \S+ discards the 3 event\(s\) it has not confirmed/,
      )
      expect(refused.output).toContain('Nothing was deleted')
      expect(await p.connect.status(p.connectorEnv.CONNECTOR_NAME)).toBeDefined()
      expect((await listSlots(sql)).some((s) => s.slotName === slot)).toBe(true)
      expect(await pending(sql)).toBe(3)

      const result = cli('delete', ['--drop-slot', '--yes'])
      expect(result.code).toBe(0)
      expect(result.output).toMatch(
        new RegExp(`dropped replication slot ${slot}; 3 event\\(s\\) in .* not yet confirmed went with it`),
      )
      expect(await p.connect.status(p.connectorEnv.CONNECTOR_NAME)).toBeUndefined()
      expect((await listSlots(sql)).some((s) => s.slotName === slot)).toBe(false)

      // Registered again under its name, it starts afresh on a new slot: Connect must not hand it
      // the position of the slot that was dropped (Debezium refuses to start from it).
      const again = cli('register')
      expect(again.output).toMatch(/RUNNING/)
      expect(again.code, again.output).toBe(0)
      const response = await p.app.inject({
        method: 'POST',
        url: '/books',
        payload: { title: 'after', author: 'A', price: 1, stock: 1 },
      })
      expect(response.statusCode).toBe(201)
      await expect.poll(() => pending(sql), { timeout: 60_000, interval: 500 }).toBe(0)
      expect(await state()).toBe('RUNNING')
    } finally {
      await sql.end()
    }
  })
})
