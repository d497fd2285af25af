import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { z } from 'zod'
import { parseEnv } from '../lib/config.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

/**
 * libpq's environment for `url`. psql reads the password from PGPASSWORD, so it never stands in
 * psql's arguments (which any local user can list with `ps`) and no .pgpass file is written.
 */
function libpqEnv(url: string): Record<string, string> {
  const parsed = new URL(url)
  const sslmode = parsed.searchParams.get('sslmode')
  return {
    PGHOST: decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, '$1'),
    PGPORT: parsed.port || '5432',
    PGUSER: decodeURIComponent(parsed.username),
    PGPASSWORD: decodeURIComponent(parsed.password),
    PGDATABASE: decodeURIComponent(parsed.pathname.replace(/^\//, '')),
    PGAPPNAME: 'outbox-cdc-psql',
    ...(sslmode ? { PGSSLMODE: sslmode } : {}),
  }
}

/**
 * `npm run db:psql`: psql as the application role on DATABASE_URL (the local stack's when unset).
 * On a terminal it is interactive; with SQL piped in (`echo 'select 1' | npm run db:psql`) it runs
 * that without reading ~/.psqlrc and stops at the first error, with psql's exit code. Arguments
 * after `--` go to psql.
 */
runCli(async () => {
  const env = parseEnv(
    z.object({
      DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
      PG_BIN: z.string().min(1).optional(),
    }),
    withLocalStackDefaults(),
    'psql',
  )
  const psql = env.PG_BIN ? join(env.PG_BIN, 'psql') : 'psql'
  const scripted = process.stdin.isTTY ? [] : ['--no-psqlrc', '--set', 'ON_ERROR_STOP=1']
  const child = spawn(psql, [...scripted, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ...libpqEnv(env.DATABASE_URL) },
  })
  // Ctrl-C belongs to psql (it cancels the running query); this process only waits for it.
  const ignore = () => {}
  process.on('SIGINT', ignore)
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject)
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)))
    })
  } finally {
    process.off('SIGINT', ignore)
  }
})
