import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import type { SoakResult } from '../soak/report.ts'
import { boundedTrends, cleanOutcome, latencyTrends, memoryTrends } from '../soak/verdict.ts'

/**
 * The committed soak (docs/benchmark.md, Soak) is what the page says it is: a full run, and every
 * verdict recomputed here from its own samples, not taken from the verdicts it wrote.
 */
const run = JSON.parse(readFileSync(join(repoRoot, 'bench', 'results', 'soak.json'), 'utf8')) as SoakResult
const warmupS = run.warmupMinutes * 60

describe('the committed soak', () => {
  it('ran 30 minutes at 1,000 orders/s through the API and the bulk writer, sampled throughout', () => {
    expect(run.minutes).toBeGreaterThanOrEqual(30)
    expect(run.offered.apiPerS).toBeGreaterThan(0)
    expect(run.offered.apiPerS + run.offered.bulkPerS).toBe(1000)
    expect(run.achieved.apiPerS + run.achieved.bulkPerS).toBeGreaterThanOrEqual(970)
    expect(run.samples.at(-1)?.s).toBeGreaterThanOrEqual(run.minutes * 60 - 30)
    expect(run.latency.map((m) => m.minute)).toEqual(Array.from({ length: run.minutes }, (_, m) => m))
    expect(run.verdicts.trendsEnforced).toBe(true)
    expect(run.warmupMinutes).toBeLessThanOrEqual(10)
  })

  it('kept every process flat after the warm-up: under 5% or 20 MB of growth, whichever is larger', () => {
    const trends = memoryTrends(run.samples, warmupS)
    expect(trends.map((t) => t.name)).toEqual(
      expect.arrayContaining(['api', 'consumer', 'fulfilment', 'console', 'postgres', 'kafka', 'connect']),
    )
    for (const t of trends) expect(t.to - t.from, t.name).toBeLessThan(Math.max(0.05 * t.from, 20))
  })

  it('kept the inboxes, the WAL the slot holds and the Kafka log bounded, and commit → applied from degrading', () => {
    for (const t of [
      ...boundedTrends(run.samples, warmupS),
      ...latencyTrends(run.latency, run.warmupMinutes),
    ])
      expect(t.ok, `${t.name}: ${t.from} → ${t.to}`).toBe(true)
    // Pruned: the order side's inbox holds minutes of events at the end, not the whole run's.
    const last = run.samples.at(-1)
    expect(last?.inboxRows.consumed_events).toBeLessThan(run.outcome.orders)
  })

  it('ended with 0 errors, 0 dead letters, 0 orders lost and 0 applied twice, the doctor passing each minute', () => {
    expect(cleanOutcome(run.outcome)).toBe(true)
    expect(run.outcome.orders).toBeGreaterThanOrEqual(run.minutes * 60 * 970)
    expect(run.outcome.shipments).toBe(run.outcome.orders)
    expect(run.doctor.length).toBeGreaterThanOrEqual(run.minutes - 1)
    expect(run.doctor.filter((d) => !d.ok)).toEqual([])
    expect(run.verdicts.ok).toBe(true)
  })
})
