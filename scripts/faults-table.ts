import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../stack/lib/config.ts'
import {
  readFailoverRun,
  readFullRun,
  readSagaRun,
  renderFailoverTable,
  renderFaultTable,
  renderSagaTable,
  withFaultTable,
} from '../test/faults/table.ts'

/** `npm run faults:table`: writes the tables of the committed full fault and failover runs into README.md. */
const readmeFile = join(repoRoot, 'README.md')
const readme = withFaultTable(readFileSync(readmeFile, 'utf8'), renderFaultTable(readFullRun()))
const withFailover = withFaultTable(readme, renderFailoverTable(readFailoverRun()), 'failover')
writeFileSync(readmeFile, withFaultTable(withFailover, renderSagaTable(readSagaRun()), 'saga'))
console.log('README.md: fault tables updated from test/faults/results/full.json, failover.json and saga.json')
