import { describe, expect, it } from 'vitest'
import { bucketDelta, parseMetrics, quantile } from './metrics-text.ts'

const exposition = `# HELP outbox_events_written_total Events
# TYPE outbox_events_written_total counter
outbox_events_written_total{event_type="BookAdded"} 3
outbox_events_written_total{event_type="OrderPlaced"} 4
consumer_commit_to_apply_seconds_bucket{le="0.1",event_type="A"} 1
consumer_commit_to_apply_seconds_bucket{le="0.5",event_type="A"} 3
consumer_commit_to_apply_seconds_bucket{le="+Inf",event_type="A"} 4
consumer_commit_to_apply_seconds_bucket{le="0.1",event_type="B"} 2
consumer_commit_to_apply_seconds_bucket{le="0.5",event_type="B"} 2
consumer_commit_to_apply_seconds_bucket{le="+Inf",event_type="B"} 2
consumer_commit_to_apply_seconds_sum{event_type="A"} 1.2
label_with_quote{a="x\\"}y"} 9
`

describe('reading /metrics', () => {
  const view = parseMetrics(exposition)

  it('sums a counter over its labels, and reads an absent labelled counter as 0', () => {
    expect(view.total('outbox_events_written_total')).toBe(7)
    expect(view.total('consumer_events_applied_total')).toBe(0)
    expect(view.total('label_with_quote')).toBe(9)
  })

  it('sums histogram buckets over label sets, by bound, +Inf last', () => {
    expect(view.buckets('consumer_commit_to_apply_seconds')).toEqual([
      { le: 0.1, count: 3 },
      { le: 0.5, count: 5 },
      { le: Number.POSITIVE_INFINITY, count: 6 },
    ])
    expect(view.buckets('nothing_seconds')).toEqual([])
  })
})

describe('quantile over buckets', () => {
  const b = (...counts: number[]) =>
    counts.map((count, i) => ({ le: [0.1, 0.2, 0.4, Number.POSITIVE_INFINITY][i] as number, count }))

  it('interpolates inside the bucket that holds the rank, as histogram_quantile does', () => {
    expect(quantile(0.5, b(0, 10, 10, 10))).toBeCloseTo(0.15)
    expect(quantile(0.99, b(0, 0, 100, 100))).toBeCloseTo(0.2 + 0.2 * 0.99)
  })

  it('gives the highest finite bound for a rank in +Inf, and nothing without observations', () => {
    expect(quantile(0.99, b(0, 0, 1, 10))).toBe(0.4)
    expect(quantile(0.5, b(0, 0, 0, 0))).toBeUndefined()
  })

  it('takes the difference of two readings, and none across a restart', () => {
    expect(bucketDelta(b(1, 2, 3, 3), b(1, 5, 9, 10))).toEqual(b(0, 3, 6, 7))
    expect(bucketDelta([], b(1, 1, 1, 1))).toEqual(b(1, 1, 1, 1))
    expect(bucketDelta(b(5, 5, 5, 5), b(1, 1, 1, 1))).toBeUndefined()
  })
})
