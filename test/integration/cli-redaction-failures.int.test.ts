import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'

const stack = inject('stack')
const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx')
const secret = 'Zq9sEcr3tPw0rd'
/** The same password percent-encoded in a URL ('@' as %40), and as a client would decode it. */
const encoded = 'Zq9s%40Ecr3t'
const decoded = 'Zq9s@Ecr3t'

/** An `npm run` command (the toolkit CLI with the bookstore's config), with `env` on top. */
function cli(args: string[], env: Record<string, string>) {
  const child = spawn(tsx, [join(repoRoot, 'scripts', 'outbox-cdc.ts'), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  child.stderr.on('data', (chunk) => {
    output += chunk
  })
  return new Promise<{ code: number | null; output: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output })),
  )
}

const withPassword = (url: string, password: string, user = 'admin') => {
  const parsed = new URL(url)
  parsed.username = user
  parsed.password = password
  return parsed.toString().replace(/\/$/, '')
}
const expectNoPassword = (output: string) => {
  expect(output).not.toContain(secret)
  expect(output).not.toContain(encoded)
  expect(output).not.toContain(decoded)
}

/**
 * Redaction meets the commands' failures: with passwords in CONNECT_URL, DATABASE_URL and
 * DATABASE_ADMIN_URL, a command that fails (Kafka, Postgres or Connect unreachable, a login
 * refused) prints its error, a kafkajs dump or the doctor's report, and no password in any form.
 */
describe('a failing npm run command prints no password from its URLs', () => {
  const unreachable = {
    DATABASE_URL: withPassword('postgres://127.0.0.1:1/outbox', secret, 'outbox'),
    DATABASE_ADMIN_URL: withPassword('postgres://127.0.0.1:1/postgres', encoded, 'outbox'),
    CONNECT_URL: withPassword('http://127.0.0.1:9', secret),
    KAFKA_BROKERS: '127.0.0.1:1',
  }

  it('dlq:list, dlq:redrive --dry-run and consumer:replay with Kafka unreachable', {
    timeout: 120_000,
  }, async () => {
    const runs = await Promise.all([
      cli(['dlq', 'list'], unreachable),
      cli(['dlq', 'redrive', '--dry-run'], unreachable),
      cli(['replay', '--from', 'beginning'], unreachable),
    ])
    for (const run of runs) {
      expect(run.code).toBe(1)
      expect(run.output).toMatch(/ECONNREFUSED 127\.0\.0\.1:1/)
      expectNoPassword(run.output)
    }
  })

  it('doctor, as text and as JSON, with Postgres, Kafka and Connect unreachable', {
    timeout: 120_000,
  }, async () => {
    for (const args of [['doctor'], ['doctor', '--json']]) {
      const run = await cli(args, unreachable)
      expect(run.code).toBe(1)
      expect(run.output).toMatch(/Kafka Connect at http:\/\/(admin:\*\*\*@)?127\.0\.0\.1:9 is not reachable/)
      expectNoPassword(run.output)
    }
  })

  it('doctor and slots:list on the live stack when Postgres refuses the password', {
    timeout: 120_000,
  }, async () => {
    const refused = {
      DATABASE_URL: withPassword(stack.postgres.url, secret, 'outbox'),
      DATABASE_ADMIN_URL: withPassword(stack.postgres.adminUrl, encoded, 'outbox'),
      CONNECT_URL: withPassword(stack.connect.url, secret),
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
    }
    for (const args of [
      ['doctor', '--json'],
      ['slots', 'list'],
    ]) {
      const run = await cli(args, refused)
      expect(run.code).toBe(1)
      expect(run.output).toMatch(/password authentication failed/)
      expectNoPassword(run.output)
    }
  })
})
