import { describe, expect, it } from 'vitest'
import { letterEventIds, type PositionSnapshot, partitionKey, passedSnapshot } from './horizon.ts'

const key = (p: number) => partitionKey('outbox.events.order', p)
const snapshot = (sourceTimeMs: number, ends: [number, bigint][]): PositionSnapshot => ({
  sourceTimeMs,
  ends: new Map(ends.map(([p, end]) => [key(p), end])),
})

describe("the snapshot of Connect's position a group has passed", () => {
  const snapshots = [
    snapshot(1_000, [
      [0, 10n],
      [1, 5n],
    ]),
    snapshot(2_000, [
      [0, 20n],
      [1, 9n],
    ]),
  ]

  it('is the newest one whose every partition end the group has committed past', () => {
    const committed = new Map([
      [key(0), 20n],
      [key(1), 9n],
    ])
    expect(passedSnapshot(snapshots, committed, new Map())?.sourceTimeMs).toBe(2_000)
  })

  it('falls back to an older one while the group lags on any partition, and to none when it lags on all', () => {
    const lagging = new Map([
      [key(0), 25n],
      [key(1), 8n],
    ])
    expect(passedSnapshot(snapshots, lagging, new Map())?.sourceTimeMs).toBe(1_000)
    expect(
      passedSnapshot(
        snapshots,
        new Map([
          [key(0), 9n],
          [key(1), 9n],
        ]),
        new Map(),
      ),
    ).toBeUndefined()
  })

  it('counts a partition without a commit as at its low watermark, where the group would start', () => {
    const noCommit = new Map([[key(0), 20n]])
    expect(passedSnapshot(snapshots, noCommit, new Map([[key(1), 9n]]))?.sourceTimeMs).toBe(2_000)
    expect(passedSnapshot(snapshots, noCommit, new Map([[key(1), 0n]]))).toBeUndefined()
  })
})

describe('the events dead letters still name', () => {
  it('are every letter’s event id, once, in lower case; a letter without a usable id names none', () => {
    const a = '0b5e6f2c-1d3a-4c8e-9f00-1234567890ab'
    expect(
      letterEventIds([
        { eventId: a.toUpperCase() },
        { eventId: a },
        { eventId: '' },
        { eventId: 'not-an-id' },
        {},
      ]),
    ).toEqual([a])
  })
})
