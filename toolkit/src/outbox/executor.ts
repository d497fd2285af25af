import type postgres from 'postgres'
import { OptionsError } from '../errors.ts'

/**
 * What the toolkit's writes need from the caller's transaction: run one statement, with
 * positional parameters ($1 …), as a named prepared statement. The statement's text is built
 * once per table by the caller (see append.ts); the driver parses it once per connection, so an
 * append never pays the describe-first round trip of an unprepared statement.
 */
export interface SqlExecutor {
  run(name: string, text: string, params: unknown[]): Promise<unknown>
  /**
   * The transaction id (`txid_current()`) every write must run in, or undefined. postgres.js can
   * reconnect a pooled connection whose backend died mid-transaction and send the rest of a
   * callback on the new session, outside any transaction (porsager/postgres#1215), where each
   * statement would commit on its own. A guarded write there writes nothing.
   */
  readonly txGuard?: string | undefined
}

/**
 * A postgres.js transaction (`sql.begin(tx => …)`) as an executor. Pass `txGuard` (read with
 * `select txid_current()` as the transaction's first statement) to guard every write.
 */
export function postgresJsExecutor(
  tx: postgres.TransactionSql,
  options: { txGuard?: string } = {},
): SqlExecutor {
  // A client outside a transaction would commit the append on its own, whatever the caller's
  // domain writes do. Only a transaction's sql has savepoint().
  if (typeof (tx as { savepoint?: unknown }).savepoint !== 'function') {
    throw new OptionsError(
      'postgresJsExecutor needs the sql of a transaction (sql.begin(tx => …)), not a client',
    )
  }
  return {
    run: (_name, text, params) =>
      tx.unsafe(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }),
    txGuard: options.txGuard,
  }
}

/**
 * A Drizzle transaction as an executor (a database is refused: the append would commit on its own), on any of Drizzle's Postgres drivers
 * (postgres.js, node-postgres). It goes through the session's own prepareQuery with a name, so
 * postgres.js prepares the statement and node-postgres sends a named one, as Drizzle's
 * `.prepare(name)` does; `db.execute(sql)` would send it unprepared.
 */
export function drizzleExecutor(tx: DrizzleTransaction): SqlExecutor {
  if (typeof (tx as { rollback?: unknown }).rollback !== 'function') {
    throw new OptionsError('drizzleExecutor needs a transaction (db.transaction(tx => …)), not the database')
  }
  const session = tx._.session
  return {
    run: (name, text, params) =>
      session.prepareQuery({ sql: text, params }, undefined, name, false).execute(),
  }
}

/**
 * A Drizzle Postgres transaction, whatever its driver and schema: the part of it used here, spelt
 * out rather than imported, so that the main entry's types need no drizzle-orm (an optional peer).
 */
export interface DrizzleTransaction {
  rollback(): never
  readonly _: { readonly session: DrizzleSession }
}

/** What is used of Drizzle's PgSession: prepareQuery, as its own `.prepare(name)` calls it. */
export interface DrizzleSession {
  prepareQuery(
    query: { sql: string; params: unknown[] },
    fields: undefined,
    name: string | undefined,
    isResponseInArrayMode: boolean,
  ): { execute(): Promise<unknown> }
}
