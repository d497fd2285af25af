import { bucketDelta, quantile } from './metrics-text.ts'
import type { Sample } from './sampler.ts'

/** The charts' data: one x (seconds since the epoch) and aligned y series, null where unknown. */
export interface History {
  t: number[]
  writtenPerS: (number | null)[]
  appliedPerS: (number | null)[]
  /** commit→applied over each interval, ms; null when nothing was applied in it. */
  p50Ms: (number | null)[]
  p99Ms: (number | null)[]
  /** One series per `topic[partition]` seen in the window. */
  lag: Record<string, (number | null)[]>
  slotRetainedBytes: (number | null)[]
  deadLetters: (number | null)[]
}

/** A counter's rate between two readings; null when either is missing or it went back (a restart). */
function rate(earlier: number | undefined, later: number | undefined, seconds: number): number | null {
  if (earlier === undefined || later === undefined || later < earlier || seconds <= 0) return null
  return (later - earlier) / seconds
}

const orNull = (value: number | undefined | null) => value ?? null

/**
 * Rates and quantiles are per interval, so a point stands for the time since the sample before
 * it: the first sample only starts the series.
 */
export function toHistory(samples: readonly Sample[]): History {
  const points = samples.slice(1).map((s, i) => ({ s, prev: samples[i] as Sample }))
  const partitions = [...new Set(samples.flatMap((s) => Object.keys(s.lag)))].sort()
  const latency = (q: number) =>
    points.map(({ s, prev }) => {
      if (!s.commitToApply || !prev.commitToApply) return null
      const delta = bucketDelta(prev.commitToApply, s.commitToApply)
      const seconds = delta ? quantile(q, delta) : undefined
      return seconds === undefined ? null : Math.round(seconds * 1000 * 10) / 10
    })
  return {
    t: points.map(({ s }) => s.t / 1000),
    writtenPerS: points.map(({ s, prev }) => rate(prev.written, s.written, (s.t - prev.t) / 1000)),
    appliedPerS: points.map(({ s, prev }) => rate(prev.applied, s.applied, (s.t - prev.t) / 1000)),
    p50Ms: latency(0.5),
    p99Ms: latency(0.99),
    lag: Object.fromEntries(partitions.map((p) => [p, points.map(({ s }) => orNull(s.lag[p]))])),
    slotRetainedBytes: points.map(({ s }) => orNull(s.slotRetainedBytes)),
    deadLetters: points.map(({ s }) => orNull(s.deadLetters)),
  }
}
