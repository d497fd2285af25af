import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { ensureCertificates } from '../../stack/lib/certs.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import { processesUnder } from '../support.ts'
import { mainConfig, ownStackEnv, pipelinePorts, runScript, tsx } from './own-stack.ts'

/**
 * STACK_SECURE=true on a folder of its own: Kafka on SASL_SSL with SCRAM users, Connect behind
 * basic auth, Postgres on TLS only. npm start runs the whole pipeline on it, smoke passes, every
 * CLI command works once, and what a client gets wrong is said by name, never with a secret.
 */
describe.skipIf(mainConfig.env.STACK_MODE !== 'native')('the secured stack', async () => {
  const stackDir = mkdtempSync(join(tmpdir(), 'outbox-secured-'))
  const { base, ports } = await pipelinePorts()
  const env: NodeJS.ProcessEnv = { ...ownStackEnv(stackDir, ports), STACK_SECURE: 'true' }
  /** Everything any command printed, to be searched for secrets at the end. */
  const printed: string[] = []
  const run = (script: string, args: string[] = [], extra: Record<string, string> = {}) => {
    const started = performance.now()
    const { code, output } = runScript({ ...env, ...extra }, script, args, 120_000)
    printed.push(output)
    return { code, output, ms: performance.now() - started }
  }
  const cli = (words: string, extra: Record<string, string> = {}) =>
    run('outbox-cdc', words.split(' '), extra)
  const secrets = () =>
    readdirSync(join(stackDir, 'secrets'))
      .filter((file) => file.endsWith('.password'))
      .map((file) => ({ file, value: readFileSync(join(stackDir, 'secrets', file), 'utf8').trim() }))

  let start: ReturnType<typeof spawn> | undefined
  let startOutput = ''
  afterAll(async () => {
    if (start && start.exitCode === null && start.signalCode === null) {
      const exited = new Promise((resolve) => start?.on('exit', resolve))
      start.kill('SIGINT')
      await exited
    }
    run('stack-down', ['--purge'])
    rmSync(stackDir, { recursive: true, force: true })
  }, 180_000)

  it('runs the whole pipeline under npm start: smoke passes through TLS, SASL and basic auth', {
    timeout: 420_000,
  }, async () => {
    start = spawn(tsx, [join(repoRoot, 'scripts', 'start.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const keep = (chunk: Buffer) => {
      startOutput += chunk.toString()
    }
    start.stdout?.on('data', keep)
    start.stderr?.on('data', keep)
    await vi.waitFor(
      () => {
        expect(start?.exitCode, startOutput).toBeNull()
        expect(startOutput).toContain('npm run smoke')
      },
      { timeout: 400_000, interval: 500 },
    )
    const status = JSON.parse(run('stack-status', ['--json']).output)
    expect(status.ok).toBe(true)
    expect(status.secure).toBe(true)
    expect(status.postgres.url).toMatch(/sslmode=verify-full/)
    const smoke = run('smoke')
    expect(smoke.code, smoke.output).toBe(0)
    expect(smoke.output).toMatch(/\[OK\] order \S+ fulfilled/)
    expect(smoke.output).toMatch(/\[OK\] order \S+ cancelled/)
    // The connector reads Postgres over TLS too, checking the server against the stack's CA.
    const diff = cli('connector diff')
    expect(diff.code, diff.output).toBe(0)
  })

  it('runs every CLI command once, and the console reads every stage through the same settings', {
    timeout: 300_000,
  }, async () => {
    for (const words of [
      'doctor',
      'connector status',
      'connector validate',
      'connector pause',
      'connector resume',
      'connector restart',
      'slots list',
      'dlq list',
      'dlq redrive --dry-run',
    ]) {
      const result = cli(words)
      expect(result.code, `${words}: ${result.output}`).toBe(0)
    }
    // replay reaches the group through the brokers and refuses while its consumer is in it.
    const replay = cli('replay --from beginning')
    expect(replay.output).toMatch(/member/)
    // stop lets go of the slot, so advancing it works; resume runs the connector again.
    const stopped = cli('connector stop')
    expect(stopped.code, stopped.output).toBe(0)
    const advance = cli('slots advance outbox_slot --yes')
    expect(advance.code, advance.output).toBe(0)
    const resumed = cli('connector resume')
    expect(resumed.code, resumed.output).toBe(0)

    const tail = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repoRoot, 'scripts', 'outbox-cdc.ts'),
        'events',
        'tail',
        '--from-beginning',
        '--json',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let tailed = ''
    tail.stdout.on('data', (chunk: Buffer) => {
      tailed += chunk.toString()
    })
    tail.stderr.on('data', (chunk: Buffer) => {
      tailed += chunk.toString()
    })
    const tailExit = new Promise<number | null>((resolve) => tail.on('exit', (code) => resolve(code)))
    await vi.waitFor(() => expect(tailed).toContain('"BookAdded"'), { timeout: 60_000, interval: 250 })
    tail.kill('SIGINT')
    expect(await tailExit).toBe(0)
    printed.push(tailed)

    const consoleUrl = /Ops console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(startOutput)?.[1]
    await vi.waitFor(
      async () => {
        const overview = (await (
          await fetch(`${consoleUrl}api/overview`, { headers: { 'x-console': '1' } })
        ).json()) as { stages: { id: string; severity: string }[] }
        const severity = Object.fromEntries(overview.stages.map((stage) => [stage.id, stage.severity]))
        expect(severity).toMatchObject({
          postgres: 'ok',
          slot: 'ok',
          connector: 'ok',
          topics: 'ok',
          consumer: 'ok',
        })
      },
      { timeout: 60_000, interval: 1000 },
    )
  })

  it('says what failed, by name and at once, for a wrong password, a wrong CA or a plaintext client', {
    timeout: 180_000,
  }, () => {
    const wrong = join(stackDir, 'wrong.password')
    writeFileSync(wrong, 'not-the-password-1\n')
    const otherCa = ensureCertificates(join(stackDir, 'other-ca')).caFile
    const expectRefused = (extra: Record<string, string>, words: string, pattern: RegExp) => {
      const result = cli(words, extra)
      expect(result.code, result.output).toBe(1)
      expect(result.output).toMatch(pattern)
      // kafkajs tries a few times before it gives up; nothing waits out a long timeout.
      expect(result.ms).toBeLessThan(30_000)
    }
    expectRefused(
      { KAFKA_SASL_PASSWORD_FILE: wrong },
      'dlq list',
      /KAFKA_AUTH_FAILED: .*credentials of user outbox-cdc/,
    )
    expectRefused({ KAFKA_CA_FILE: otherCa }, 'dlq list', /KAFKA_TLS_FAILED: TLS with Kafka at .* failed/)
    expectRefused(
      { KAFKA_CA_FILE: '', KAFKA_SASL_MECHANISM: '' },
      'dlq list',
      /KAFKA_CONNECTION_CLOSED: .*plaintext client/,
    )
    expectRefused(
      { CONNECT_PASSWORD_FILE: wrong },
      'connector status',
      /refused the credentials of user operator \(401\)/,
    )
    expectRefused(
      { CONNECT_USERNAME: '', CONNECT_PASSWORD_FILE: '' },
      'connector status',
      /asks for credentials \(401\)/,
    )
    const password = (name: string) =>
      readFileSync(join(stackDir, 'secrets', `${name}.password`), 'utf8').trim()
    const app = `postgres://outbox:${password('postgres-app')}@127.0.0.1:${base}/outbox`
    const admin = `postgres://postgres:${password('postgres-admin')}@127.0.0.1:${base}/postgres`
    expectRefused(
      { DATABASE_URL: app, DATABASE_ADMIN_URL: admin },
      'slots list',
      /pg_hba\.conf rejects connection .*no encryption/,
    )
    const untrusted = `?sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCa)}`
    expectRefused(
      { DATABASE_URL: `${app}${untrusted}`, DATABASE_ADMIN_URL: `${admin}${untrusted}` },
      'slots list',
      /POSTGRES_TLS_FAILED: TLS with Postgres failed/,
    )
  })

  it('printed no secret anywhere: not a password, and the console token only where npm start shows it', () => {
    expect(printed.length).toBeGreaterThan(10)
    for (const { file, value } of secrets()) {
      for (const output of printed)
        expect(output.includes(value), `${file} in ${output.slice(0, 300)}`).toBe(false)
      if (file !== 'console-token.password')
        expect(startOutput.includes(value), `${file} in npm start's output`).toBe(false)
    }
    for (const log of ['kafka/kafka.log', 'connect/connect.log', 'postgres/postgres.log']) {
      const text = readFileSync(join(stackDir, log), 'utf8')
      for (const { file, value } of secrets()) expect(text.includes(value), `${file} in ${log}`).toBe(false)
    }
  })

  it('stops every process it started on Ctrl-C', { timeout: 120_000 }, async () => {
    const exited = new Promise<number | null>((resolve) => start?.on('exit', (code) => resolve(code)))
    start?.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(processesUnder(stackDir)).toEqual([])
  })
})
