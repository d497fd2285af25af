import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadStackConfig, repoRoot } from '../../stack/lib/config.ts'
import { liveConnectUrl } from '../../stack/lib/stack.ts'

const tsx = join(repoRoot, 'node_modules', '.bin', 'tsx')
const secret = 's3cretPassw0rd'

/** Runs a command-line script as a user would, with the stack's defaults and `env` on top. */
function cli(script: string, args: string[], env: Record<string, string>) {
  const result = spawnSync(tsx, [join(repoRoot, 'scripts', `${script}.ts`), ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  })
  return { code: result.status, output: `${result.stdout}${result.stderr}` }
}

/** A URL's `user:password@` with the password set to the secret. */
const withPassword = (url: string) => {
  const parsed = new URL(url)
  parsed.username = 'admin'
  parsed.password = secret
  return parsed.toString().replace(/\/$/, '')
}

describe('a password written into a URL is never printed by a command', () => {
  const liveConnect = withPassword(liveConnectUrl(loadStackConfig()))
  const deadConnect = withPassword('http://127.0.0.1:9')

  it('stack:status shows the Connect URL without its password, as text and as JSON', () => {
    for (const args of [[], ['--json']]) {
      const run = cli('stack-status', args, { CONNECT_URL: liveConnect })
      expect(run.output).toContain('127.0.0.1')
      expect(run.output, `stack:status ${args.join(' ')}`).not.toContain(secret)
    }
  })

  it("stack:up's error about an external Connect that does not answer names it without its password", () => {
    const run = cli('stack-up', [], { CONNECT_URL: deadConnect })
    expect(run.code).toBe(1)
    expect(run.output).toMatch(/NOT_HEALTHY/)
    expect(run.output).not.toContain(secret)
  })

  it('slots:drop, finding Connect unreachable, says so without the password', () => {
    const run = cli('outbox-cdc', ['slots', 'drop', 'no_such_slot_redaction'], { CONNECT_URL: deadConnect })
    expect(run.code).not.toBe(0)
    expect(run.output).toMatch(/127\.0\.0\.1:9|Connect/)
    expect(run.output).not.toContain(secret)
  })

  it('connector:status with Connect unreachable does not print the password', () => {
    const run = cli('outbox-cdc', ['connector', 'status'], { CONNECT_URL: deadConnect })
    expect(run.code).toBe(1)
    expect(run.output).toMatch(
      /CONNECT_REQUEST_FAILED: Kafka Connect at http:\/\/127\.0\.0\.1:9 is not reachable/,
    )
    expect(run.output).not.toContain(secret)
  })
})
