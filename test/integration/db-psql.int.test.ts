import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'

const stack = inject('stack')
const appRole = new URL(stack.postgres.url)
const password = decodeURIComponent(appRole.password)

/** `npm run db:psql` as a user runs it, with DATABASE_URL the application role's and `env` added. */
function dbPsql(args: string[] = [], env: Record<string, string> = {}) {
  const child = spawn('npm', ['run', '--silent', 'db:psql', ...(args.length ? ['--', ...args] : [])], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: stack.postgres.url, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
  return {
    child,
    /** Writes `sql` to psql's stdin, closes it, and waits for the exit. */
    run: (sql: string) => {
      child.stdin.end(sql)
      return exited
    },
  }
}

/** Every process whose environment holds `marker`: npm, tsx, node and psql all inherit it. */
function processesMarked(marker: string): { argv: string[] }[] {
  const found: { argv: string[] }[] = []
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (!readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(marker)) continue
      found.push({ argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) })
    } catch {
      // Gone meanwhile, or another user's: not one of ours.
    }
  }
  return found
}

describe('npm run db:psql', () => {
  it('runs SQL piped to it as the application role', async () => {
    const { code, output } = await dbPsql().run('select 40 + 2 as answer, current_user as who;\n')
    expect(code, output).toBe(0)
    expect(output).toMatch(/answer \| +who/)
    expect(output).toMatch(new RegExp(`42 \\| ${appRole.username}\\b`))
    expect(output).toContain('(1 row)')
    expect(output).not.toContain(password)
  })

  it('stops at the first error with a failing exit code, and passes arguments after -- to psql', async () => {
    const failed = await dbPsql().run("select 1/0;\nselect 'not reached';\n")
    expect(failed.code).not.toBe(0)
    expect(failed.output).toContain('division by zero')
    expect(failed.output).not.toContain('not reached')
    const tuplesOnly = await dbPsql(['--tuples-only', '--no-align']).run('select 1;\n')
    expect(tuplesOnly).toEqual({ code: 0, output: '1\n' })
  })

  it('never puts the password in a process argument list (which any local user can read)', async () => {
    expect(password.length).toBeGreaterThan(0)
    const marker = `DB_PSQL_TEST=${crypto.randomUUID()}`
    const [name, value] = marker.split('=') as [string, string]
    const session = dbPsql([], { [name]: value })
    // psql waits on the open stdin: the whole chain of processes is there to be inspected.
    await expect
      .poll(() => processesMarked(marker).some(({ argv }) => basename(argv[0] ?? '') === 'psql'), {
        timeout: 30_000,
      })
      .toBe(true)
    const processes = processesMarked(marker)
    expect(processes.length).toBeGreaterThanOrEqual(2)
    for (const { argv } of processes) expect(argv.join(' ')).not.toContain(password)
    expect(await session.run('select 1;\n')).toMatchObject({ code: 0 })
  })
})
