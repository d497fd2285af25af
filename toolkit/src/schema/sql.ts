import { OptionsError } from '../errors.ts'
import { type OutboxTableName, qualifiedName } from '../outbox/table-name.ts'

export interface SchemaOptions {
  /** Outbox tables, each in the publication (a service may keep one per writer). */
  outboxes: OutboxTableName[]
  heartbeat: OutboxTableName
  inboxes: OutboxTableName[]
  /** Where the inboxes' pruners record their horizon; `outbox_cdc_inbox_horizon` beside the first inbox. */
  inboxHorizon?: OutboxTableName | undefined
  /** Where consumers keep the keys they park behind a dead letter; `outbox_cdc_parked_letters` beside each inbox. */
  parkedLetters?: OutboxTableName | undefined
  publication: string
  /** The role Debezium connects as (created by a DBA: it needs REPLICATION); granted what it reads and writes. */
  replicationRole?: string | undefined
}

// No '$' either: the script's do-blocks are dollar-quoted.
const plainIdentifier = (name: string, what: string) => {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.length > 63) {
    throw new OptionsError(`${what} ${JSON.stringify(name)} must be a plain SQL identifier`)
  }
  return `"${name}"`
}

/**
 * The toolkit's tables, publication and grants as plain SQL, for a service without drizzle-kit:
 * the same tables as schema/drizzle.ts. Every statement is idempotent (if not exists, or checked
 * first), so it can run at each deploy. The publication sends inserts only: the outbox's deletes
 * must not reach Kafka.
 */
export function schemaSql(options: SchemaOptions): string {
  if (options.outboxes.length === 0) throw new OptionsError('schemaSql needs at least one outbox table')
  const publication = plainIdentifier(options.publication, 'publication')
  const horizonTable = inboxHorizonOf(options)
  const parkedTables = parkedLettersOf(options)
  const tables = [
    ...options.outboxes,
    options.heartbeat,
    ...options.inboxes,
    ...(horizonTable ? [horizonTable] : []),
    ...parkedTables,
  ]
  for (const table of tables) {
    if (typeof table !== 'string') plainIdentifier(table.schema, 'schema')
    plainIdentifier(typeof table === 'string' ? table : table.table, 'table')
  }
  const published = [...options.outboxes, options.heartbeat].map(qualifiedName)
  const schemas = [...new Set(tables.flatMap((t) => (typeof t === 'string' ? [] : [t.schema])))]
  const statements: string[] = schemas.map((schema) => `create schema if not exists "${schema}";`)
  for (const outbox of options.outboxes) {
    statements.push(`create table if not exists ${qualifiedName(outbox)} (
  id uuid primary key,
  aggregate_type text not null,
  aggregate_id text not null,
  event_type text not null,
  payload jsonb not null,
  created_at timestamp(6) without time zone not null,
  trace_context text
);`)
  }
  statements.push(`create table if not exists ${qualifiedName(options.heartbeat)} (
  beat_at timestamp with time zone not null default now()
);`)
  for (const inbox of options.inboxes) {
    statements.push(`create table if not exists ${qualifiedName(inbox)} (
  event_id uuid primary key,
  event_type text not null,
  topic text not null,
  partition integer not null,
  kafka_offset bigint not null,
  consumed_at timestamp with time zone not null default clock_timestamp(),
  occurred_at timestamp with time zone,
  redeliveries integer not null default 0,
  last_offset bigint
);`)
    statements.push(inboxIndexSql(inbox))
  }
  const horizon = inboxHorizonOf(options)
  if (horizon) statements.push(inboxHorizonSql(horizon))
  for (const parked of parkedTables) statements.push(parkedLettersSql(parked))
  const literal = options.publication.replaceAll("'", "''")
  statements.push(`do $$
begin
  if not exists (select from pg_publication where pubname = '${literal}') then
    create publication ${publication} for table ${published.join(', ')} with (publish = 'insert');
  end if;
end $$;`)
  // One made before (by hand, or by Debezium with its default) may publish deletes: the outbox's
  // own deletes would then reach Kafka, and the heartbeat table (no key) would refuse its deletes.
  statements.push(`alter publication ${publication} set (publish = 'insert');`)
  for (const table of published) {
    statements.push(`do $$
begin
  if not exists (select from pg_publication_tables t where t.pubname = '${literal}'
                 and format('%I.%I', t.schemaname, t.tablename)::regclass = '${table.replaceAll("'", "''")}'::regclass) then
    alter publication ${publication} add table ${table};
  end if;
end $$;`)
  }
  if (options.replicationRole) {
    const role = plainIdentifier(options.replicationRole, 'role')
    const roleLiteral = options.replicationRole.replaceAll("'", "''")
    // Debezium reads the outboxes' snapshot rows (there are none) and runs the heartbeat action.
    statements.push(`do $$
begin
  if exists (select from pg_roles where rolname = '${roleLiteral}') then
${schemas.map((schema) => `    grant usage on schema "${schema}" to ${role};\n`).join('')}    grant select on ${options.outboxes.map(qualifiedName).join(', ')} to ${role};
    grant select, insert, delete on ${qualifiedName(options.heartbeat)} to ${role};
  end if;
end $$;`)
  }
  return `${statements.join('\n\n')}\n`
}

/** The horizon table these options name, or the default beside the first inbox; none without inboxes. */
export function inboxHorizonOf(
  options: Pick<SchemaOptions, 'inboxes' | 'inboxHorizon'>,
): OutboxTableName | undefined {
  if (options.inboxHorizon) return options.inboxHorizon
  const [first] = options.inboxes
  if (first === undefined) return undefined
  return typeof first === 'object'
    ? { schema: first.schema, table: defaultInboxHorizon }
    : defaultInboxHorizon
}

export const defaultInboxHorizon = 'outbox_cdc_inbox_horizon'

/**
 * The parked-letters tables these options name: the one given, or the default beside each inbox
 * (once per schema), where a consumer looks for it by default; none without inboxes.
 */
export function parkedLettersOf(
  options: Pick<SchemaOptions, 'inboxes' | 'parkedLetters'>,
): OutboxTableName[] {
  if (options.parkedLetters) return [options.parkedLetters]
  const tables = options.inboxes.map((inbox) => besideInbox(inbox, defaultParkedLetters))
  return [...new Map(tables.map((t) => [qualifiedName(t), t])).values()]
}

export const defaultParkedLetters = 'outbox_cdc_parked_letters'

/** A table named `table` in the same schema as `inbox` (or the search path's, for a plain name). */
export const besideInbox = (inbox: OutboxTableName, table: string): OutboxTableName =>
  typeof inbox === 'object' ? { schema: inbox.schema, table } : table

/**
 * The inbox's index by position (`topic, partition, kafka_offset`), which the pruner reads each
 * partition by, below its low watermark. On a large inbox, building it here blocks the consumer's
 * writes for the build: make it first with `create index concurrently` under this name, and this
 * statement finds it.
 */
export function inboxIndexSql(inbox: OutboxTableName): string {
  const table = typeof inbox === 'string' ? inbox : inbox.table
  return `create index if not exists "${table}_position_idx" on ${qualifiedName(inbox)} (topic, partition, kafka_offset);`
}

export function inboxHorizonSql(horizon: OutboxTableName): string {
  return `create table if not exists ${qualifiedName(horizon)} (
  inbox text not null,
  topic text not null,
  partition integer not null,
  below_offset bigint not null,
  pruned_before timestamp with time zone not null,
  pruned_at timestamp with time zone not null default now(),
  constraint "${typeof horizon === 'string' ? horizon : horizon.table}_pkey" primary key (inbox, topic, partition)
);`
}

/**
 * One row per dead letter that holds its key back, per consumer group: the first letter of a key
 * (`behind` null) and each later event of that key parked behind it. A key is parked while it has
 * a row; a row goes once its letter has been applied again. A key's letters go back in `seq`
 * order, the order they were parked.
 */
export function parkedLettersSql(parked: OutboxTableName): string {
  const name = typeof parked === 'string' ? parked : parked.table
  return `create table if not exists ${qualifiedName(parked)} (
  seq bigint generated always as identity,
  group_id text not null,
  event_id text not null,
  topic text not null,
  key text not null,
  original_offset bigint not null,
  behind text,
  parked_at timestamp with time zone not null default now(),
  constraint "${name}_pkey" primary key (group_id, event_id)
);
create index if not exists "${name}_key_idx" on ${qualifiedName(parked)} (group_id, topic, key);`
}
