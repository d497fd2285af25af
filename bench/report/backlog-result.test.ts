import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'

/** The committed backlog runs (docs/benchmark.md, A backlog of a million events). */
const consumerOf = (label: string) =>
  (
    JSON.parse(readFileSync(join(repoRoot, 'bench', 'results', `${label}.json`), 'utf8')) as {
      results: { consumer: { events: number; consumerRssMb: { before: number; peak: number } } }
    }
  ).results.consumer

describe('the consumer draining a backlog', () => {
  it('costs about the same memory for a million events as for a tenth of them: it fetches in bounded batches', () => {
    const million = consumerOf('backlog')
    const tenth = consumerOf('backlog-small')
    expect(million.events).toBe(1_000_000)
    expect(tenth.events).toBe(100_000)
    expect(million.consumerRssMb.peak).toBeLessThan(512)
    expect(million.consumerRssMb.peak - tenth.consumerRssMb.peak).toBeLessThan(64)
  })
})
