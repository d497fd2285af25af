import { redactUrl } from 'outbox-cdc'
import { z } from 'zod'
import { migrateDatabase } from '../db/migrate.ts'
import { parseEnv, postgresUrl } from '../lib/config.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

runCli(async () => {
  const env = parseEnv(z.object({ DATABASE_URL: postgresUrl }), withLocalStackDefaults(), 'migration')
  await migrateDatabase(env.DATABASE_URL)
  console.log(`Migrations applied to ${redactUrl(env.DATABASE_URL)}`)
  return 0
})
