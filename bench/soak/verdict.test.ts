import { describe, expect, it } from 'vitest'
import type { MinuteLatency } from './latency.ts'
import { type SoakOutcome, type SoakSample, soakVerdicts } from './verdict.ts'

/** Samples every 10 s for `minutes`, each process's memory and each level given by a function of s. */
const samplesOf = (
  minutes: number,
  memory: (s: number) => Record<string, number>,
  level: (s: number) => number = () => 1000,
): SoakSample[] =>
  Array.from({ length: minutes * 6 + 1 }, (_, i) => {
    const s = i * 10
    return {
      s,
      memoryMb: memory(s),
      inboxRows: { consumed_events: level(s) },
      oldestAgeS: { consumed_events: 130 },
      walRetainedMb: 8,
      kafkaLogMb: 100,
    }
  })
const minutesOf = (count: number, p99: (minute: number) => number): MinuteLatency[] =>
  Array.from({ length: count }, (_, minute) => ({
    minute,
    events: 54_000,
    ms: { consumed_events: { count: 54_000, p50: 40, p95: 80, p99: p99(minute), max: 300 } },
    missing: { consumed_events: 0 },
  }))
const clean: SoakOutcome = {
  orders: 1000,
  fulfilled: 1000,
  lost: 0,
  appliedTwice: 0,
  shipments: 1000,
  deadLetters: 0,
  errors: { api: 0, doctor: 0 },
  warnings: { api: 3 },
}
const verdictOf = (over: Partial<Parameters<typeof soakVerdicts>[0]>) =>
  soakVerdicts({
    samples: samplesOf(30, () => ({ api: 150, kafka: 600 })),
    latency: minutesOf(30, () => 200),
    outcome: clean,
    warmupS: 600,
    enforceTrends: true,
    rate: { offeredPerS: 1000, acknowledgedPerS: 998 },
    ...over,
  })

describe('the soak verdicts', () => {
  it('pass a flat run with a clean outcome', () => {
    const v = verdictOf({})
    expect(v.ok).toBe(true)
    expect(v.memory.map((t) => t.name)).toEqual(['api', 'kafka'])
  })

  it('fail a process that grows by 20 MB or more (5% when that is larger) after the warm-up, and only after it', () => {
    // Growth during the warm-up is not counted: the api doubles in its first 10 minutes, then holds.
    expect(verdictOf({ samples: samplesOf(30, (s) => ({ api: s < 600 ? 75 + s / 8 : 150 })) }).ok).toBe(true)
    const leaking = verdictOf({ samples: samplesOf(30, (s) => ({ api: 150 + s / 30, kafka: 600 })) })
    expect(leaking.ok).toBe(false)
    expect(leaking.memory.find((t) => t.name === 'api')).toMatchObject({ ok: false, allowed: 20 })
    // 25 MB more for a 600 MB process is under its 5% (30 MB).
    expect(verdictOf({ samples: samplesOf(30, (s) => ({ kafka: 600 + (s > 1700 ? 25 : 0) })) }).ok).toBe(true)
  })

  it('fail an inbox that keeps growing, not one that holds its level', () => {
    const growing = verdictOf({
      samples: samplesOf(
        30,
        () => ({ api: 150 }),
        (s) => s * 100,
      ),
    })
    expect(growing.ok).toBe(false)
    expect(growing.bounded.find((t) => t.name === 'consumed_events rows')?.ok).toBe(false)
    const sawtooth = verdictOf({
      samples: samplesOf(
        30,
        () => ({ api: 150 }),
        (s) => 200_000 + ((s * 1000) % 40_000),
      ),
    })
    expect(sawtooth.ok).toBe(true)
  })

  it("fail the WAL held or Kafka's log rising past 10% of the first half's peak plus 16 MB or 64 MB, the margins docs/benchmark.md gives", () => {
    const withLevels = (wal: (s: number) => number, log: (s: number) => number) =>
      samplesOf(30, () => ({ api: 150 })).map((x) => ({
        ...x,
        walRetainedMb: wal(x.s),
        kafkaLogMb: log(x.s),
      }))
    // The window runs from 600 s to 1800 s: its second half starts at 1200 s.
    const step = (before: number, after: number) => (s: number) => (s < 1200 ? before : after)
    const trend = (samples: SoakSample[], name: string) =>
      verdictOf({ samples }).bounded.find((t) => t.name === name)
    expect(
      trend(
        withLevels(step(100, 126), () => 200),
        'retained WAL, MB',
      ),
    ).toMatchObject({ allowed: 26, ok: true })
    expect(
      trend(
        withLevels(step(100, 127), () => 200),
        'retained WAL, MB',
      )?.ok,
    ).toBe(false)
    expect(
      trend(
        withLevels(() => 8, step(200, 284)),
        'Kafka log, MB',
      ),
    ).toMatchObject({ allowed: 84, ok: true })
    expect(
      trend(
        withLevels(() => 8, step(200, 285)),
        'Kafka log, MB',
      )?.ok,
    ).toBe(false)
  })

  it('fail a commit → applied p99 that degrades, not one that wobbles', () => {
    expect(verdictOf({ latency: minutesOf(30, (m) => 200 + m * 40) }).ok).toBe(false)
    expect(verdictOf({ latency: minutesOf(30, (m) => (m % 2 === 0 ? 150 : 260)) }).ok).toBe(true)
  })

  it('fail any error, dead letter, order lost or applied twice, whatever the trends', () => {
    for (const bad of [
      { errors: { api: 0, doctor: 1 } },
      { deadLetters: 1 },
      { lost: 1, fulfilled: 999 },
      { shipments: 999 },
      { appliedTwice: 1 },
      { fulfilled: 999 },
    ]) {
      const v = verdictOf({ outcome: { ...clean, ...bad }, enforceTrends: false })
      expect(v.clean, JSON.stringify(bad)).toBe(false)
      expect(v.ok).toBe(false)
    }
  })

  it('fail a run whose writers got less than 97% of the load offered through', () => {
    expect(verdictOf({ rate: { offeredPerS: 1000, acknowledgedPerS: 960 } })).toMatchObject({
      steady: false,
      ok: false,
    })
  })

  it('fail an inbox whose oldest row keeps ageing (a partition never pruned), its count flat or not', () => {
    const samples = samplesOf(30, () => ({ api: 150 })).map((x) => ({
      ...x,
      oldestAgeS: { consumed_events: 130 + x.s / 2 },
    }))
    const v = verdictOf({ samples })
    expect(v.bounded.find((t) => t.name === 'consumed_events oldest row, s')?.ok).toBe(false)
    expect(v.ok).toBe(false)
  })

  it('report the trends of a short run without failing on them', () => {
    const v = verdictOf({
      samples: samplesOf(3, (s) => ({ api: 150 + s })),
      warmupS: 60,
      enforceTrends: false,
    })
    expect(v.memory[0]?.ok).toBe(false)
    expect(v.ok).toBe(true)
  })
})
