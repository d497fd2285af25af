import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../stack/lib/config.ts'
import { readFullRun, renderFaultTable, withFaultTable } from '../test/faults/table.ts'

/** `npm run faults:table`: writes the table of the committed full fault run into README.md. */
const readmeFile = join(repoRoot, 'README.md')
writeFileSync(readmeFile, withFaultTable(readFileSync(readmeFile, 'utf8'), renderFaultTable(readFullRun())))
console.log('README.md: fault table updated from test/faults/results/full.json')
