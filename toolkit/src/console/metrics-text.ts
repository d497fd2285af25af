/**
 * The few numbers the console needs from a Prometheus text exposition (the API's and the
 * consumer's `/metrics`, as prom-client writes them): counter totals and histogram buckets.
 */

/** One sample line: `name{label="v",…} value`. Comments, blank lines and other forms are skipped. */
interface Line {
  name: string
  labels: Record<string, string>
  value: number
}

const lineRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/
const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

function parseLines(text: string): Line[] {
  const lines: Line[] = []
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue
    const match = lineRe.exec(raw.trim())
    if (!match) continue
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[3] ?? '').matchAll(labelRe)) labels[key as string] = value as string
    const value = Number(match[4] === '+Inf' ? Number.POSITIVE_INFINITY : match[4])
    if (!Number.isNaN(value)) lines.push({ name: match[1] as string, labels, value })
  }
  return lines
}

/** A histogram summed over its labels: cumulative counts by upper bound, +Inf last. */
export type Buckets = { le: number; count: number }[]

export interface MetricsView {
  /**
   * The sum of every series of a counter. 0 when it has none: prom-client writes no line for a
   * labelled counter before its first increment.
   */
  total(name: string): number
  /** The histogram `name`'s buckets summed over all its label sets; empty before any observation. */
  buckets(name: string): Buckets
}

export function parseMetrics(text: string): MetricsView {
  const lines = parseLines(text)
  return {
    total(name) {
      return lines.filter((l) => l.name === name).reduce((sum, l) => sum + l.value, 0)
    },
    buckets(name) {
      const byLe = new Map<number, number>()
      for (const l of lines) {
        if (l.name !== `${name}_bucket` || l.labels.le === undefined) continue
        const le = l.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(l.labels.le)
        byLe.set(le, (byLe.get(le) ?? 0) + l.value)
      }
      return [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, count]) => ({ le, count }))
    },
  }
}

/**
 * What was observed between two readings of the same histogram (`later` minus `earlier`, bucket
 * by bucket; an empty `earlier` had no observations yet); undefined when the process restarted in
 * between (a count went down) or the bucket bounds differ.
 */
export function bucketDelta(earlier: Buckets, later: Buckets): Buckets | undefined {
  if (earlier.length === 0) return later
  if (earlier.length !== later.length) return undefined
  const delta: Buckets = []
  for (const [i, b] of later.entries()) {
    const before = earlier[i] as Buckets[number]
    if (before.le !== b.le || b.count < before.count) return undefined
    delta.push({ le: b.le, count: b.count - before.count })
  }
  return delta
}

/**
 * The q-quantile of cumulative buckets, interpolated linearly inside its bucket as Prometheus's
 * histogram_quantile does; undefined with no observations. A quantile in the +Inf bucket is
 * reported as the highest finite bound (the histogram knows no more).
 */
export function quantile(q: number, buckets: Buckets): number | undefined {
  const total = buckets.at(-1)?.count ?? 0
  if (total === 0) return undefined
  const rank = q * total
  let lowerBound = 0
  let lowerCount = 0
  for (const { le, count } of buckets) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return lowerBound
      if (count === lowerCount) return le
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / (count - lowerCount)
    }
    lowerBound = le
    lowerCount = count
  }
  return lowerBound
}
