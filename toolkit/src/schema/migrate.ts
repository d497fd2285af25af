import type postgres from 'postgres'
import { CodedError } from '../errors.ts'
import { type OutboxTableName, qualifiedName } from '../outbox/table-name.ts'
import {
  inboxHorizonOf,
  inboxHorizonSql,
  inboxIndexSql,
  parkedLettersOf,
  parkedLettersSql,
  type SchemaOptions,
  schemaSql,
} from './sql.ts'

/**
 * A change to the toolkit's own tables or publication in a release after 0.1.0 (a column added to
 * the inbox, say). Its SQL runs against a schema of any earlier version that has the tables, so
 * it is written to be a no-op where the change is already there (`add column if not exists`).
 */
export interface ToolkitMigration {
  version: number
  /** What it changes, for the history table and the changelog. */
  name: string
  sql: (options: SchemaOptions) => string
}

/** Version 1 is 0.1.0's schema, the baseline: what schemaSql made before there were migrations. */
export const baselineVersion = 1

/** Every change since the baseline, in order; each one is listed in CHANGELOG.md. */
export const toolkitMigrations: readonly ToolkitMigration[] = [
  {
    version: 2,
    name: "inbox pruning: each inbox's last_offset and consumed_at index; the horizon table",
    sql: (options) =>
      [
        ...options.inboxes.flatMap((inbox) => [
          `alter table ${qualifiedName(inbox)} add column if not exists last_offset bigint;`,
          inboxIndexSql(inbox),
        ]),
        ...[inboxHorizonOf(options)].flatMap((horizon) => (horizon ? [inboxHorizonSql(horizon)] : [])),
      ].join('\n'),
  },
  {
    version: 3,
    name: "dead letters that keep each key's order: the parked-letters table",
    sql: (options) => parkedLettersOf(options).map(parkedLettersSql).join('\n'),
  },
]

export type MigrationErrorCode = 'SCHEMA_NEWER_THAN_PACKAGE' | 'MIGRATION_FAILED'

/** The schema cannot be brought to this package's version. Never retryable: it needs a person. */
export class MigrationError extends CodedError<MigrationErrorCode> {}

export interface MigrateOptions extends SchemaOptions {
  /** Where the applied versions are kept; default `outbox_cdc_schema` in the first outbox table's schema. */
  history?: OutboxTableName | undefined
}

export interface MigrateResult {
  /** The version the schema was at before: 0 for a database without the toolkit's tables. */
  from: number
  to: number
  /** Versions applied by this call, in order (empty when the schema was current). */
  applied: number[]
}

function historyTable(options: MigrateOptions): string {
  if (options.history) return qualifiedName(options.history)
  const first = options.outboxes[0]
  return qualifiedName(
    typeof first === 'object' ? { schema: first.schema, table: 'outbox_cdc_schema' } : 'outbox_cdc_schema',
  )
}

/**
 * Brings the toolkit's tables, publication and grants to this package's version, in one
 * transaction: either every pending change is applied and recorded, or none is. Safe to call at
 * every start of every replica: an advisory lock makes concurrent callers wait and then find
 * nothing to do. The history is kept per publication, so two services sharing a database and a
 * history table do not take each other's versions for their own.
 *
 * Before the versioned changes it runs schemaSql (every statement is idempotent), so a table the
 * options name for the first time (a new consumer's inbox) is made in the current shape, and each
 * change, written to be a no-op where it is already there, finds every table it alters.
 */
export async function migrateToolkitSchema(
  sql: postgres.Sql,
  options: MigrateOptions,
  migrations: readonly ToolkitMigration[] = toolkitMigrations,
): Promise<MigrateResult> {
  const history = historyTable(options)
  const current = schemaSql(options) // checks every name before anything runs
  const latest = migrations.reduce((max, m) => Math.max(max, m.version), baselineVersion)
  const [firstOutbox] = options.outboxes
  return (await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtextextended('outbox-cdc schema migrations', 0))`
    const schema =
      typeof options.history === 'object'
        ? options.history.schema
        : typeof firstOutbox === 'object'
          ? firstOutbox.schema
          : undefined
    if (schema) await tx.unsafe(`create schema if not exists "${schema}"`)
    await tx.unsafe(`create table if not exists ${history} (
  publication text not null,
  version integer not null,
  name text not null,
  applied_at timestamp with time zone not null default now(),
  primary key (publication, version)
)`)
    const [recorded] = await tx.unsafe<{ version: number | null }[]>(
      `select max(version) as version from ${history} where publication = $1`,
      [options.publication],
    )
    let from = recorded?.version ?? 0
    if (from === 0) {
      // Made by schemaSql before this service used migrations (any of its tables there, whichever
      // the options name first): that is the baseline's shape, and its changes since must run.
      const named = [...options.outboxes, options.heartbeat, ...options.inboxes].map(qualifiedName)
      const [exists] = await tx<{ found: boolean | null }[]>`
        select bool_or(to_regclass(name) is not null) as found from unnest(${named}::text[]) as name`
      if (exists?.found) from = baselineVersion
    }
    if (from > latest) {
      throw new MigrationError(
        'SCHEMA_NEWER_THAN_PACKAGE',
        `the toolkit's schema for publication ${options.publication} is at version ${from}, newer than this package knows (${latest}): upgrade the package, or restore the schema of version ${latest}`,
      )
    }
    const applied: number[] = []
    const record = async (version: number, name: string, ran = true) => {
      if (ran) applied.push(version)
      await tx.unsafe(
        `insert into ${history} (publication, version, name) values ($1, $2, $3) on conflict do nothing`,
        [options.publication, version, name],
      )
    }
    if (from === 0) {
      // A new database gets the current shape at once: the changes since the baseline are in it.
      await tx.unsafe(current)
      await record(baselineVersion, 'outbox, heartbeat and inbox tables; publication (inserts only); grants')
      for (const m of migrations) await record(m.version, m.name)
      return { from, to: latest, applied }
    }
    if (recorded?.version == null)
      await record(baselineVersion, 'adopted: made by schemaSql before migrations', false)
    // The current shape first: a table the options name for the first time exists before a change
    // touches it (every change is a no-op where it is already there).
    await tx.unsafe(current)
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (m.version <= from) continue
      try {
        await tx.unsafe(m.sql(options))
      } catch (cause) {
        throw new MigrationError(
          'MIGRATION_FAILED',
          `toolkit migration ${m.version} (${m.name}) failed; nothing was applied: ${(cause as Error).message}`,
          { cause },
        )
      }
      await record(m.version, m.name)
    }
    return { from, to: latest, applied }
  })) as MigrateResult
}
