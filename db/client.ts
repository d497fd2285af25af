import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { connectPostgres } from 'outbox-cdc'
import type postgres from 'postgres'
import * as schema from './schema.ts'

/** Drizzle, and (`$client`) the postgres.js pool under it, for a hot path that needs the driver itself. */
export type Db = PostgresJsDatabase<typeof schema> & { $client: postgres.Sql }
/** A transaction handle: repositories take this so the use case decides what is atomic. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
export type DbOrTx = Db | Tx

export interface Database {
  db: Db
  /** Closes the pool, waiting up to `timeoutS` for queries in flight. */
  close(timeoutS?: number): Promise<void>
}

/**
 * Opens a pool for Drizzle. Drizzle changes how its postgres.js client encodes json and dates,
 * so this client is Drizzle's alone; raw SQL elsewhere gets its own client.
 */
export function openDatabase(
  url: string,
  options: { max?: number; applicationName?: string } = {},
): Database {
  const client = connectPostgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'outbox-cdc' },
  })
  return {
    db: drizzle(client, { schema }),
    close: (timeoutS = 5) => client.end({ timeout: timeoutS }),
  }
}
