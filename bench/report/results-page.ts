import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../../stack/lib/config.ts'

/** The docs page that shows the committed benchmark runs. */
export const benchmarkPage = join(repoRoot, 'docs', 'benchmark.md')

/** A committed run's report, as `npm run bench` wrote it: `bench/results/<label>.md`. */
export const readCommittedReport = (label: string) =>
  readFileSync(join(repoRoot, 'bench', 'results', `${label}.md`), 'utf8')

const begin = (label: string) => `<!-- bench-result:begin ${label} (npm run bench:docs) -->`
const end = (label: string) => `<!-- bench-result:end ${label} -->`

/** The labels of the runs the page shows, in its order, from its begin markers. */
export function labelsIn(page: string): string[] {
  return [...page.matchAll(/<!-- bench-result:begin ([\w.-]+) \(npm run bench:docs\) -->/g)].map(
    (m) => m[1] ?? '',
  )
}

/**
 * The page with the text between each pair of `bench-result` markers replaced by that run's
 * report (`readReport(label)`), so the figures on the page are the committed run's own and cannot
 * be copied wrong or left behind. Throws on a begin marker without its end.
 */
export function withBenchResults(page: string, readReport: (label: string) => string): string {
  let text = page
  for (const label of labelsIn(page)) {
    const from = text.indexOf(begin(label))
    const to = text.indexOf(end(label), from)
    if (to < 0) throw new Error(`${begin(label)} has no ${end(label)}`)
    text = `${text.slice(0, from + begin(label).length)}\n${readReport(label).trim()}\n${text.slice(to)}`
  }
  return text
}
