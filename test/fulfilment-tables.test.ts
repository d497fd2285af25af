import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../stack/lib/config.ts'

/**
 * docs/events-and-saga.md says fulfilment writes its three tables and no other, and no other
 * service writes them: that is what lets it move to a database of its own with only
 * `DATABASE_URL` changed. Read from the source: every statement that writes a table (SQL, and
 * the inbox and outbox names handed to the runtime), by the folder it is in.
 */
const fulfilmentTables = ['shipments', 'fulfilment_inbox', 'fulfilment_outbox']
/** The services' code: what runs in production (not tests, migrations, the stack or the benches). */
const serviceFolders = ['api', 'consumer', 'fulfilment', 'connector', 'doctor', 'lib', 'scripts']

function sourceFiles(folder: string): string[] {
  return readdirSync(join(repoRoot, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => join(repoRoot, folder, file))
}

/** db/schema.ts's Drizzle tables by the name the code uses: `shipments` → shipments. */
const drizzleNames = new Map(
  [
    ...readFileSync(join(repoRoot, 'db', 'schema.ts'), 'utf8').matchAll(
      /export const (\w+) = (?:pgTable|outboxTable|heartbeatTable|inboxTable)\(\s*'([a-z_]+)'/g,
    ),
  ].map((m) => [m[1] as string, m[2] as string]),
)

/** The source without its comments (a comment naming a write is no write); strings are kept. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

/**
 * The tables a file writes: SQL `insert into`, `update [only]`, `delete from`, `truncate`, `merge
 * into` (schema-qualified or quoted), Drizzle's `.insert(t)`, `.update(t)`, `.delete(t)` on
 * db/schema.ts's tables, the inbox an app is defined on (the runtime writes it) and the outbox
 * rows are appended to. (The doctor names inboxes to read.) A table named through a variable is
 * not seen: none of the services does so, and this test's last case says what it reads.
 */
function tablesWritten(source: string): string[] {
  const code = withoutComments(source)
  const sqlName = String.raw`(?:"?\w+"?\.)?"?([a-z_]+)"?`
  const written = [
    ...[
      ...code.matchAll(
        new RegExp(
          String.raw`\b(?:insert\s+into|update(?:\s+only)?|delete\s+from|truncate(?:\s+table)?|merge\s+into)\s+${sqlName}`,
          'gi',
        ),
      ),
    ].map((m) => m[1]),
    ...[...code.matchAll(/\.(?:insert|update|delete)\(\s*(\w+)\s*\)/g)].map((m) =>
      drizzleNames.get(m[1] as string),
    ),
    ...[...code.matchAll(/defineInboxApp\(\{[^}]*?\binbox:\s*'([a-z_]+)'/g)].map((m) => m[1]),
    ...[...code.matchAll(/appendOutboxRow\([^,]+,[^,]+,\s*'([a-z_]+)'/g)].map((m) => m[1]),
  ].filter((name): name is string => name !== undefined)
  return [...new Set(written)].filter((name) => !['set', 'on', 'the', 'a'].includes(name))
}

describe("fulfilment's tables", () => {
  const writes = serviceFolders.flatMap((folder) =>
    sourceFiles(folder).map((file) => ({
      file: relative(repoRoot, file),
      tables: tablesWritten(readFileSync(file, 'utf8')),
    })),
  )

  it('are the only tables fulfilment writes, and it writes all three', () => {
    const ofFulfilment = writes.filter((w) => w.file.startsWith('fulfilment/'))
    const tables = new Set(ofFulfilment.flatMap((w) => w.tables))
    expect([...tables].sort()).toEqual([...fulfilmentTables].sort())
  })

  it('are written by no other service', () => {
    const others = writes
      .filter((w) => !w.file.startsWith('fulfilment/'))
      .flatMap((w) => w.tables.filter((t) => fulfilmentTables.includes(t)).map((t) => `${w.file}: ${t}`))
    expect(others).toEqual([])
  })

  it('are found by the reading of statements this check relies on', () => {
    expect(
      tablesWritten(`insert into shipments (a) values (1); update "orders" set x = 1;
        delete from public.fulfilment_inbox where 1; defineInboxApp({ inbox: 'fulfilment_inbox' });
        appendOutboxRow(sql, tx, 'fulfilment_outbox', event)`).sort(),
    ).toEqual(['fulfilment_inbox', 'fulfilment_outbox', 'orders', 'shipments'])
    // Drizzle's writes, quoted schema names, \`only\`, truncate; and a comment is no write.
    expect(
      tablesWritten(`await tx.insert(shipments).values(row); db.delete(fulfilmentInbox);
        insert into "public"."books" values (1); update only catalogue set a = 1; truncate table outbox;
        // update orders set x = 1
        const url = 'http://host/x'`).sort(),
    ).toEqual(['books', 'catalogue', 'fulfilment_inbox', 'outbox', 'shipments'])
  })
})
