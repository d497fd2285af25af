import { cliCommands } from '../operations.ts'
import { listSlots } from '../slots/slots.ts'
import type { DoctorCheck } from './check.ts'
import { finding } from './finding.ts'
import { replicationSlotFinding } from './replication-slot.ts'

/** Postgres as Debezium needs it: logical WAL, the outbox published, the connector's slot healthy. */
export const postgresCheck: DoctorCheck = {
  name: 'postgres',
  hintWhenUnreachable: 'is Postgres up?',
  async run({ sql }, t) {
    const [wal] = await sql<{ wal_level: string }[]>`show wal_level`
    const walLevel =
      wal?.wal_level === 'logical'
        ? finding('postgres.wal_level', 'ok', 'logical')
        : finding(
            'postgres.wal_level',
            'fail',
            `wal_level is ${wal?.wal_level}`,
            'set wal_level=logical and restart Postgres',
          )
    const tables = await sql<
      { t: string }[]
    >`select schemaname || '.' || tablename as t from pg_publication_tables where pubname = ${t.publication} order by 1`
    const names = tables.map((row) => row.t)
    const missing = t.outboxTables.filter((table) => !names.includes(table))
    const publication =
      missing.length === 0
        ? finding('postgres.publication', 'ok', `${t.publication}: ${names.join(', ')}`, undefined, names)
        : finding(
            'postgres.publication',
            'fail',
            `${t.publication} does not publish ${missing.join(', ')}`,
            (t.commands ?? cliCommands)('migrate'),
            names,
          )
    const slot = (await listSlots(sql)).find((s) => s.slotName === t.slotName)
    return [walLevel, publication, replicationSlotFinding(slot, t)]
  },
}
