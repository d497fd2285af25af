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

/**
 * The tables a file writes: `insert into`, `update`, `delete from`, the inbox an app is defined on
 * (the runtime writes it) and the outbox rows are appended to. (The doctor names inboxes to read.)
 */
function tablesWritten(source: string): string[] {
  const written = [
    ...source.matchAll(/\b(?:insert\s+into|update|delete\s+from)\s+"?(?:public\.)?([a-z_]+)"?/gi),
    ...source.matchAll(/defineInboxApp\(\{[^}]*?\binbox:\s*'([a-z_]+)'/g),
    ...source.matchAll(/appendOutboxRow\([^,]+,[^,]+,\s*'([a-z_]+)'/g),
  ].map((match) => match[1] as string)
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
  })
})
