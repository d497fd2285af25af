import { describe, expect, it } from 'vitest'
import { toHistory } from './history.ts'
import type { Sample } from './sampler.ts'

const inf = Number.POSITIVE_INFINITY
const sample = (t: number, over: Partial<Sample>): Sample => ({ t, stages: [], lag: {}, ...over })

describe('chart history from samples', () => {
  it('draws rates and latency per interval, each point standing for the time since the one before', () => {
    const h = toHistory([
      sample(0, { written: 0, applied: 0, commitToApply: [] }),
      sample(2000, {
        written: 10,
        applied: 6,
        commitToApply: [
          { le: 0.1, count: 6 },
          { le: inf, count: 6 },
        ],
      }),
      sample(4000, {
        written: 10,
        applied: 10,
        commitToApply: [
          { le: 0.1, count: 6 },
          { le: inf, count: 10 },
        ],
      }),
    ])
    expect(h.t).toEqual([2, 4])
    expect(h.writtenPerS).toEqual([5, 0])
    expect(h.appliedPerS).toEqual([3, 2])
    expect(h.p50Ms).toEqual([50, 100])
  })

  it('leaves a gap where a service did not answer or restarted, never a negative rate', () => {
    const h = toHistory([
      sample(0, { written: 100 }),
      sample(1000, {}),
      sample(2000, { written: 3 }),
      sample(3000, { written: 5 }),
    ])
    expect(h.writtenPerS).toEqual([null, null, 2])
    expect(h.p99Ms).toEqual([null, null, null])
  })

  it('keeps one lag series per partition seen, null where it was not reported', () => {
    const h = toHistory([
      sample(0, { lag: { 'a[0]': 1 } }),
      sample(1000, { lag: { 'a[0]': 2 } }),
      sample(2000, { lag: { 'a[0]': 0, 'a[1]': 7 } }),
    ])
    expect(h.lag).toEqual({ 'a[0]': [2, 0], 'a[1]': [null, 7] })
  })
})
