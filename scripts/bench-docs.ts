import { readFileSync, writeFileSync } from 'node:fs'
import {
  benchmarkPage,
  labelsIn,
  readCommittedReport,
  withBenchResults,
} from '../bench/report/results-page.ts'

/**
 * `npm run bench:docs`: writes the committed runs' reports (bench/results/<label>.md) into
 * docs/benchmark.md between their markers, after a run worth publishing has been committed.
 */
const page = readFileSync(benchmarkPage, 'utf8')
writeFileSync(benchmarkPage, withBenchResults(page, readCommittedReport))
console.log(`docs/benchmark.md: updated from bench/results/{${labelsIn(page).join(',')}}.md`)
