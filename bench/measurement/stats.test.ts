import { describe, expect, it } from 'vitest'
import { pairedRatio, slope, summarize } from './stats.ts'

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles over the whole sample', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => 1000 - i) // 1..1000, unsorted
    expect(summarize(samples)).toEqual({ count: 1000, p50: 500, p95: 950, p99: 990, max: 1000 })
    expect(summarize([7])).toMatchObject({ p50: 7, p99: 7, max: 7 })
  })

  it('gives the growth rate of a backlog, and zero for a flat one', () => {
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 10 + 5 * x })))).toBeCloseTo(5)
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: x % 2 === 0 ? 4 : 6 })))).toBeCloseTo(0.4)
    expect(slope([{ x: 0, y: 1 }])).toBe(0)
  })

  it("takes the median of each round's own ratio, not one median over the other", () => {
    // The published run of 2026-11-25: rounds 62%, 72% and 59%; medians taken apart gave 72%.
    expect(pairedRatio([223, 290, 406], [361, 401, 687])).toBe(0.618)
    // Medians taken apart would pair 250 with 350 (71%); round by round it is 69%.
    expect(pairedRatio([250, 300, 200], [500, 350, 290])).toBe(0.69)
    expect(pairedRatio([100, 300], [200, 300])).toBe(0.5)
    expect(pairedRatio([], [])).toBeNaN()
  })
})
