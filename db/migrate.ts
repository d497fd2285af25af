import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import { connectPostgres } from 'outbox-cdc'

export const migrationsFolder = join(fileURLToPath(import.meta.url), '..', 'migrations')

/**
 * Applies the committed SQL migrations in db/migrations, each once, in order. Runs on its own
 * single-connection client so a migration never shares a session with application queries.
 */
export async function migrateDatabase(url: string): Promise<void> {
  const client = connectPostgres(url, { max: 1, onnotice: () => {} })
  try {
    await migrate(drizzle(client), { migrationsFolder })
  } finally {
    await client.end({ timeout: 5 })
  }
}
