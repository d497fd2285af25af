import { execFile, spawn } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  createConnectClient,
  createKafka,
  deadLetterTopicOf,
  listDeadLetters,
  toolkitMigrations,
} from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { connectorPasswordKey, connectorSecretsFile } from '../../lib/replication.ts'
import { packToolkit } from '../../scripts/toolkit-pack.ts'
import { createTestDatabase, type TestDatabase, uniqueName } from '../support.ts'

const stack = inject('stack')
const run = promisify(execFile)
const repo = new URL('../../', import.meta.url)
const versions = JSON.parse(readFileSync(new URL('package.json', repo), 'utf8')) as {
  dependencies: Record<string, string>
  devDependencies: Record<string, string>
}
const pinned = (name: string) => versions.dependencies[name] ?? versions.devDependencies[name] ?? 'missing'

/**
 * The package as a user gets it: packed, installed from the tarball into a new project outside the
 * repo, type-checked against its declarations, and run as a small invoicing service of its own
 * (test/outside/invoicing) with its own schema, outbox, inbox, publication, slot and connector.
 */
describe('outbox-cdc installed outside the repo', () => {
  let dir: string
  let db: TestDatabase
  let sql: postgres.Sql
  const id = uniqueName('inv').toLowerCase()
  const namespace = `it.${id}.events`
  let serviceEnv: Record<string, string>
  let consumer: ReturnType<typeof spawn> | undefined

  const service = (...args: string[]) =>
    run(process.execPath, ['dist/service.js', ...args], { cwd: dir, env: serviceEnv, timeout: 180_000 })
  /** The package's CLI as the service's operators run it: npx, with the service's config file. */
  const cli = (...args: string[]) =>
    run('npx', ['--no-install', 'outbox-cdc', '--config', 'dist/outbox-cdc.config.js', ...args], {
      cwd: dir,
      env: serviceEnv,
      timeout: 180_000,
    }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        code: error.code ?? -1,
        stdout: `${error.stdout ?? ''}${error.stderr ?? ''}`,
      }),
    )
  const count = async (table: string) =>
    (await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`))[0]?.n

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'outbox-cdc-outside-'))
    const packed = await packToolkit(dir)
    cpSync(new URL('test/outside/invoicing', repo), dir, { recursive: true })
    const peers = ['postgres', 'kafkajs', 'zod', '@types/node', 'typescript']
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify({
        name: 'invoicing',
        private: true,
        type: 'module',
        dependencies: {
          'outbox-cdc': `file:./${packed.filename}`,
          ...Object.fromEntries(peers.map((name) => [name, pinned(name)])),
        },
      }),
    )
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: dir,
      timeout: 240_000,
    })
    db = await createTestDatabase(stack.postgres.adminUrl, `it_${id}`)
    sql = postgres(db.url, { max: 1, onnotice: () => {} })
    serviceEnv = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: db.url,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      CONNECT_URL: stack.connect.url,
      NAMESPACE: namespace,
      CONNECTOR: `it-${id}`,
      SLOT: `slot_${id}`,
      PUBLICATION: `pub_${id}`,
      PASSWORD_REF: stack.secretsDir
        ? `\${file:${join(stack.secretsDir, connectorSecretsFile)}:${connectorPasswordKey}}`
        : '${env:OUTBOX_CONNECT_DB_PASSWORD}',
    }
  }, 300_000)

  afterAll(async () => {
    consumer?.kill('SIGKILL')
    await createConnectClient(stack.connect.url)
      .remove(`it-${id}`)
      .catch(() => {})
    await sql?.end()
    await db?.drop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('type-checks with tsc against the packed declarations', async () => {
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.'], {
      cwd: dir,
      timeout: 120_000,
    })
  }, 150_000)

  it('writes 1,000 events in its own transactions and applies each exactly once; a poison event is dead-lettered, then applied once redriven after the fix; the CLI registers, redrives and doctors it', async () => {
    // A new database is made at the package's own version at once, with no steps in between.
    const current = toolkitMigrations.at(-1)?.version ?? 1
    expect((await service('migrate')).stdout).toContain(`toolkit schema: version 0 -> ${current}`)
    // Every deploy migrates: the second finds the schema current.
    expect((await service('migrate')).stdout).toContain(`toolkit schema: version ${current} -> ${current}`)
    // Written before the connector's slot exists: never sent (an outbox has no history to replay).
    await service('issue', '5')
    const registered = await cli('connector', 'register')
    expect(registered.stdout).toMatch(/task 0: RUNNING/)
    expect(registered.code).toBe(0)
    await service('issue', '1000')
    consumer = spawn(process.execPath, ['dist/service.js', 'consume'], {
      cwd: dir,
      env: serviceEnv,
      stdio: 'ignore',
    })
    await expect.poll(() => count('billing.ledger'), { timeout: 120_000, interval: 500 }).toBe(1000)

    await service('issue', '1', '5000000')
    const kafka = createKafka({ brokers: stack.kafka.brokers, clientId: `it-${id}` })
    await expect
      .poll(async () => (await listDeadLetters(kafka, deadLetterTopicOf(namespace))).length, {
        timeout: 60_000,
      })
      .toBe(1)
    expect(await count('billing.ledger')).toBe(1000)

    await sql`alter table billing.ledger drop constraint small`
    expect((await cli('dlq', 'redrive')).stdout).toContain('1 dead letter(s) sent back to their topics')
    await expect.poll(() => count('billing.ledger'), { timeout: 60_000, interval: 500 }).toBe(1001)
    // Each event once in the inbox, and every invoice issued after the connector was registered
    // in the ledger exactly once; the five from before it, never.
    const [inbox] = await sql<{ rows: number; ids: number }[]>`
      select count(*)::int as rows, count(distinct event_id)::int as ids from billing.inbox`
    expect(inbox).toEqual({ rows: 1001, ids: 1001 })
    const [totals] = await sql<{ issued: number; booked: number; unsent: number }[]>`
      select (select count(*)::int from billing.invoices) as issued,
             (select count(*)::int from billing.ledger l join billing.invoices i on i.id = l.invoice_id
               where i.amount_cents = l.amount_cents) as booked,
             (select count(*)::int from billing.invoices i
               where not exists (select 1 from billing.ledger l where l.invoice_id = i.id)) as unsent`
    expect(totals).toEqual({ issued: 1006, booked: 1001, unsent: 5 })

    // The doctor, with the toolkit's checks on this service's pipeline: green, then red once its
    // connector is paused (no event leaves the outbox), naming the command that fixes it.
    // The Connect cluster is shared with the other test files, whose connectors come and go: a
    // check can meet a rebalance ("a rebalance is expected") and report it as it finds it, so the
    // doctor is asked again until it sees the healthy pipeline.
    let healthy = await cli('doctor')
    await expect
      .poll(
        async () => {
          if (healthy.code !== 0) healthy = await cli('doctor')
          return healthy.code
        },
        { timeout: 60_000, interval: 1000 },
      )
      .toBe(0)
    expect(healthy.stdout, healthy.stdout).toContain('The pipeline is healthy.')
    expect((await cli('connector', 'pause')).code).toBe(0)
    const paused = await cli('doctor')
    expect(paused.code).toBe(1)
    expect(paused.stdout).toMatch(
      /✗ connect\.connector +it-\S+ is PAUSED: no events leave the outbox\n {2}→ outbox-cdc connector resume/,
    )
    expect((await cli('connector', 'resume')).code).toBe(0)

    const exited = new Promise((resolve) => consumer?.once('exit', resolve))
    consumer.kill('SIGTERM')
    expect(await exited).toBe(0)
  }, 300_000)

  it("serves the ops console from the package: its page and uPlot, this pipeline's stages, actions only with the token, and a clean stop", async () => {
    const token = 'i'.repeat(40)
    // The bin's file run by node itself, as a supervisor runs it: npx would take the signal, not the CLI.
    const bin = 'node_modules/outbox-cdc/dist/cli/main.js'
    const ops = spawn(process.execPath, [bin, '--config', 'dist/outbox-cdc.config.js', 'console'], {
      cwd: dir,
      env: { ...serviceEnv, CONSOLE_PORT: '0', OUTBOX_CDC_CONSOLE_TOKEN: token },
    })
    let output = ''
    ops.stdout?.on('data', (chunk) => {
      output += chunk
    })
    ops.stderr?.on('data', (chunk) => {
      output += chunk
    })
    const exited = new Promise<string>((resolve) =>
      ops.once('exit', (code, signal) => resolve(`${code ?? signal}`)),
    )
    try {
      await expect
        .poll(() => output, { timeout: 60_000 })
        .toMatch(/console listening on http:\/\/127\.0\.0\.1:\d+\//)
      expect(output).not.toContain(token)
      const url = output.match(/http:\/\/127\.0\.0\.1:\d+\//)?.[0] as string
      expect(await (await fetch(url)).text()).toContain('/vendor/uPlot.iife.min.js')
      expect((await fetch(`${url}vendor/uPlot.iife.min.js`)).status).toBe(200)
      const overview = async () =>
        (await (await fetch(`${url}api/overview`, { headers: { 'x-console': '1' } })).json()) as {
          stages: { id: string; severity: string; details: string[] }[]
        }
      await expect
        .poll(async () => (await overview()).stages.find((stage) => stage.id === 'connector')?.severity, {
          timeout: 60_000,
        })
        .toBe('ok')
      const stages = (await overview()).stages
      expect(stages.find((stage) => stage.id === 'connector')?.details.join(' ')).toContain(`it-${id}`)
      // It was told of no service of this one's: amber, not taken for healthy.
      expect(stages.find((stage) => stage.id === 'api')?.severity).toBe('warn')
      const pause = await fetch(`${url}api/connector/pause`, {
        method: 'POST',
        headers: { 'x-console': '1' },
      })
      expect(pause.status).toBe(401)
      const status = await createConnectClient(stack.connect.url).status(`it-${id}`)
      expect(status?.connector.state).toBe('RUNNING')
    } finally {
      ops.kill('SIGTERM')
    }
    expect(await exited, output).toBe('0')
  }, 180_000)
})
