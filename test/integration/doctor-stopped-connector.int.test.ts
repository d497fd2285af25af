import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { type Finding, listSlots } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { heartbeatTable } from '../../lib/replication.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

/**
 * The heartbeat meets connector:stop: a STOPPED connector writes no heartbeat and its slot keeps
 * the WAL written since. `npm run doctor` must say the connector is stopped on purpose, naming
 * connector:resume, and give no other cause (a lagging connector, a heartbeat that is off, a slot
 * nobody owns) for what the stop explains.
 */
describe('npm run doctor on a connector stopped with connector:stop', () => {
  let p: Pipeline
  let sql: postgres.Sql
  let env: NodeJS.ProcessEnv
  beforeAll(async () => {
    p = await startPipeline(stack, { connector: { CONNECTOR_HEARTBEAT_INTERVAL_MS: '500' } })
    sql = postgres(p.db.url, { max: 1, onnotice: () => {} })
    env = {
      ...process.env,
      ...Object.fromEntries(Object.entries(p.connectorEnv).map(([k, v]) => [k, String(v)])),
      DATABASE_ADMIN_URL: p.db.url,
      CONSUMER_GROUP: `consumer-${p.id}`,
      FULFILMENT_GROUP: '',
      DOCTOR_STALE_AFTER_S: '2',
    }
  })
  afterAll(async () => {
    await sql?.end()
    await p?.stop()
  })

  const cli = (args: string[]) => {
    const result = spawnSync(
      join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [join(repoRoot, 'scripts', 'outbox-cdc.ts'), ...args],
      { env, encoding: 'utf8', timeout: 120_000 },
    )
    return { code: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` }
  }
  const doctor = () => {
    const run = cli(['doctor', '--json'])
    const report = JSON.parse(run.stdout) as { ok: boolean; findings: Finding[] }
    return { code: run.code, report, byCheck: Object.fromEntries(report.findings.map((f) => [f.check, f])) }
  }
  /** Seconds since the connector last rewrote the heartbeat row, by the database's clock. */
  const sinceLastBeat = async () => {
    const [row] = await sql.unsafe<{ s: number }[]>(
      `select extract(epoch from clock_timestamp() - max(beat_at))::float8 as s from ${heartbeatTable}`,
    )
    return row?.s ?? Number.POSITIVE_INFINITY
  }
  const addBook = async (title: string) => {
    const response = await p.app.inject({
      method: 'POST',
      url: '/books',
      payload: { title, author: 'H', price: 1, stock: 1 },
    })
    expect(response.statusCode).toBe(201)
  }
  const slot = async () =>
    (await listSlots(sql)).find((s) => s.slotName === p.connectorEnv.CONNECTOR_SLOT_NAME)

  it('says the connector is STOPPED and names connector:resume, with no misleading cause beside it', async () => {
    await addBook('before the stop')
    await expect.poll(() => doctor().report.ok, { timeout: 30_000 }).toBe(true)

    expect(cli(['connector', 'stop'])).toMatchObject({ code: 0, output: expect.stringMatching(/STOPPED/) })
    try {
      await expect.poll(async () => (await slot())?.active, { timeout: 30_000 }).toBe(false)
      const heldFrom = (await slot())?.restartLsn
      await addBook('while stopped')
      // No heartbeat moves the slot: it keeps what is written from where it stood.
      await expect.poll(() => sinceLastBeat(), { timeout: 30_000 }).toBeGreaterThan(3)
      expect((await slot())?.restartLsn).toBe(heldFrom)
      expect((await slot())?.retainedBytes).toBeGreaterThan(0)

      const { code, byCheck } = doctor()
      expect(code).toBe(1)
      expect(byCheck['connect.connector']).toMatchObject({
        severity: 'fail',
        detail: expect.stringMatching(/STOPPED/),
        hint: 'npm run connector:resume',
      })
      const said = JSON.stringify(Object.values(byCheck).filter((f) => f.severity !== 'ok'))
      // Not taken for a connector that lags or a heartbeat that is off, nor for a slot nobody owns.
      expect(said).not.toMatch(/not keeping up|heartbeat is off|no connector owns|FAILED|connector:register/)
      expect(byCheck['postgres.unowned-slots']?.detail ?? '').not.toContain(
        p.connectorEnv.CONNECTOR_SLOT_NAME,
      )
    } finally {
      expect(cli(['connector', 'resume']).code).toBe(0)
    }
    await expect.poll(() => doctor().report.ok, { timeout: 60_000 }).toBe(true)
  })
})
