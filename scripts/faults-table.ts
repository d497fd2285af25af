import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../stack/lib/config.ts'
import { withFaultTables } from '../test/faults/table.ts'

/** `npm run faults:table`: writes the tables of the committed full fault and failover runs into README.md. */
const readmeFile = join(repoRoot, 'README.md')
writeFileSync(readmeFile, withFaultTables(readFileSync(readmeFile, 'utf8')))
console.log('README.md: fault tables updated from test/faults/results/full.json, failover.json and saga.json')
