/** Latency summary in milliseconds; percentiles are nearest-rank on the full sample, not estimates. */
export interface Summary {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

export function summarize(samplesMs: number[]): Summary {
  const sorted = Float64Array.from(samplesMs).sort()
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? Number.NaN
  const round = (n: number) => Math.round(n * 10) / 10
  return {
    count: sorted.length,
    p50: round(rank(0.5)),
    p95: round(rank(0.95)),
    p99: round(rank(0.99)),
    max: round(sorted[sorted.length - 1] ?? Number.NaN),
  }
}

/** Least-squares slope of y over x: how fast a backlog grows (events per second) during a hold. */
export function slope(points: Array<{ x: number; y: number }>): number {
  const n = points.length
  if (n < 2) return 0
  const mx = points.reduce((s, p) => s + p.x, 0) / n
  const my = points.reduce((s, p) => s + p.y, 0) / n
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0)
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0)
  return den === 0 ? 0 : num / den
}

export const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000

/**
 * The median of one variant's rate over another's, taken round by round: rounds are run side by
 * side, so each round's ratio compares like with like. (A median of each side taken apart can
 * pair a fast round of one with a slow round of the other.) With an even count, the lower middle.
 */
export function pairedRatio(numerators: number[], denominators: number[]): number {
  const ratios = numerators
    .map((n, i) => n / (denominators[i] ?? Number.NaN))
    .filter(Number.isFinite)
    .sort((a, b) => a - b)
  const middle = ratios[Math.floor((ratios.length - 1) / 2)]
  return middle === undefined ? Number.NaN : Math.round(middle * 1000) / 1000
}
