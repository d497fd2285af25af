import { OptionsError } from '../errors.ts'
/** A table the toolkit writes, as `table` or `{ schema, table }`; Postgres' default schema search applies to the first. */
export type OutboxTableName = string | { schema: string; table: string }

// No '$': schemaSql refuses it too (it would end the script's dollar quoting).
const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/

function quoted(name: string, what: string): string {
  // Names come from the service's own options, but they end up in SQL text: plain identifiers only.
  if (!identifier.test(name) || name.length > 63) {
    throw new OptionsError(
      `${what} ${JSON.stringify(name)} must be a plain SQL identifier (letters, digits, _, at most 63)`,
    )
  }
  return `"${name}"`
}

/** `"schema"."table"` or `"table"`, checked. */
export function qualifiedName(table: OutboxTableName): string {
  return typeof table === 'string'
    ? quoted(table, 'table')
    : `${quoted(table.schema, 'schema')}.${quoted(table.table, 'table')}`
}
