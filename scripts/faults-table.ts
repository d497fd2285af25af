import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../stack/lib/config.ts'
import {
  readFailoverRun,
  readFullRun,
  renderFailoverTable,
  renderFaultTable,
  withFaultTable,
} from '../test/faults/table.ts'

/** `npm run faults:table`: writes the tables of the committed full fault and failover runs into README.md. */
const readmeFile = join(repoRoot, 'README.md')
const readme = withFaultTable(readFileSync(readmeFile, 'utf8'), renderFaultTable(readFullRun()))
writeFileSync(readmeFile, withFaultTable(readme, renderFailoverTable(readFailoverRun()), 'failover'))
console.log('README.md: fault tables updated from test/faults/results/full.json and failover.json')
