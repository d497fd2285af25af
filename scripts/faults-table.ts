import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../stack/lib/config.ts'
import { type FaultTable, renderTable, tablePages, withFaultTable } from '../test/faults/table.ts'

/**
 * `npm run faults:table`: writes the tables of the committed full fault, failover and saga runs
 * into the docs pages that hold them (`tablePages`).
 */
const pages = new Map<string, string>()
for (const which of Object.keys(tablePages) as FaultTable[]) {
  const file = join(repoRoot, tablePages[which])
  pages.set(file, withFaultTable(pages.get(file) ?? readFileSync(file, 'utf8'), renderTable(which), which))
}
for (const [file, text] of pages) writeFileSync(file, text)
console.log(
  `${[...new Set(Object.values(tablePages))].join(', ')}: fault tables updated from test/faults/results/full.json, failover.json and saga.json`,
)
