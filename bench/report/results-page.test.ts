import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { benchmarkPage, labelsIn, readCommittedReport, withBenchResults } from './results-page.ts'

describe("the benchmark page's results", () => {
  const page = readFileSync(benchmarkPage, 'utf8')

  it('are exactly the committed runs it names (npm run bench:docs rewrites them)', () => {
    expect(withBenchResults(page, readCommittedReport), 'run npm run bench:docs').toBe(page)
  })

  it('show the latest run, the saga and exactly-once', () => {
    expect(labelsIn(page)).toEqual(expect.arrayContaining(['latest', 'saga', 'exactly-once']))
  })

  it('are rewritten between their markers only, and a marker left open is an error', () => {
    const stale = [
      'Before.',
      '<!-- bench-result:begin a (npm run bench:docs) -->',
      'old figures',
      '<!-- bench-result:end a -->',
      'After.',
    ].join('\n')
    expect(withBenchResults(stale, (label) => `| ${label} | new |\n`)).toBe(
      stale.replace('old figures', '| a | new |'),
    )
    expect(() =>
      withBenchResults('<!-- bench-result:begin a (npm run bench:docs) -->\nno end', () => ''),
    ).toThrow('has no <!-- bench-result:end a -->')
  })
})
