import { describe, expect, it } from 'vitest'
import { plannedTopics } from './provision.ts'

const base = { namespace: 'shop.events', aggregates: ['order'], partitions: 3 }

describe('the event topics connector register creates', () => {
  it('keep records for their retention, in segments of a day at most, so a record outlives it by a day at most', () => {
    const [week] = plannedTopics({ ...base, retentionMs: 7 * 86_400_000 })
    expect(week?.configs).toEqual({ 'retention.ms': String(7 * 86_400_000), 'segment.ms': '86400000' })
    // A retention shorter than a day rolls segments as often: in tests that shrink it to seconds.
    const [seconds] = plannedTopics({ ...base, retentionMs: 5000 })
    expect(seconds?.configs).toEqual({ 'retention.ms': '5000', 'segment.ms': '5000' })
  })

  it('keep records for ever with -1, and take the broker’s defaults when no retention is given', () => {
    expect(plannedTopics({ ...base, retentionMs: -1 })[0]?.configs).toEqual({ 'retention.ms': '-1' })
    expect(plannedTopics(base)[0]?.configs).toBeUndefined()
  })

  it('refuse a retention below a second, before anything is created', () => {
    expect(() => plannedTopics({ ...base, retentionMs: 10 })).toThrow(
      /retentionMs: must be -1 \(keep for ever\) or at least 1000/,
    )
  })
})
