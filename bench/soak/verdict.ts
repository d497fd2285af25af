import type { Summary } from '../measurement/stats.ts'
import type { MinuteLatency } from './latency.ts'

/** One look at the running pipeline, `s` seconds into the load. */
export interface SoakSample {
  s: number
  /** Resident memory by process, MB (Postgres: the PSS of the postmaster and every process under it). */
  memoryMb: Record<string, number>
  inboxRows: Record<string, number>
  /** Age of each inbox's oldest row, s. */
  oldestAgeS: Record<string, number>
  walRetainedMb: number
  kafkaLogMb: number
}

/** What the soak must end with: nothing failed, lost, applied twice or dead-lettered. */
export interface SoakOutcome {
  /** Orders written (by the API and the bulk writer) during the load. */
  orders: number
  /** Of those, orders the saga took to the end (fulfilled). */
  fulfilled: number
  /** Orders whose OrderPlaced the consumer never applied, or whose shipment never came back. */
  lost: number
  /** Units the catalogue counts as sold beyond the orders written: an OrderPlaced applied twice. */
  appliedTwice: number
  /** Shipments fulfilment decided, one per order. */
  shipments: number
  deadLetters: number
  /** Error lines by process (its log, at level error or fatal), and failed writes and doctor runs. */
  errors: Record<string, number>
  /** Warning lines by process: reported, not failed on. */
  warnings: Record<string, number>
}

export interface Trend {
  name: string
  from: number
  to: number
  allowed: number
  ok: boolean
}

export interface SoakVerdicts {
  /** Each process grows by less than 5% or 20 MB, whichever is larger, after the warm-up. */
  memory: Trend[]
  /** Inbox rows, retained WAL and Kafka's log: the highest of the window's second half is not above its first half's by more than 10% (plus a little). */
  bounded: Trend[]
  /** Per inbox: the mean per-minute p99 of the window's last third within 1.5 × its first third's, plus 100 ms. */
  latency: Trend[]
  /** 0 errors, 0 dead letters, 0 lost, 0 applied twice, a shipment an order. */
  clean: boolean
  /** The writers got at least 97% of the orders offered through: the load was the one promised. */
  steady: boolean
  /** Whether the trends above fail the run (a run long enough after its warm-up to say). */
  trendsEnforced: boolean
  ok: boolean
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0
}
const mean = (values: number[]) =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length
const round = (n: number) => Math.round(n * 10) / 10

/**
 * Growth of each process's memory over the samples at or after `fromS`: the median of the
 * window's last minute against the median of its first (one sample is a GC's mood, a minute is not).
 */
export function memoryTrends(samples: SoakSample[], fromS: number): Trend[] {
  const window = samples.filter((x) => x.s >= fromS)
  const first = window[0]?.s ?? 0
  const last = window.at(-1)?.s ?? 0
  const names = Object.keys(window[0]?.memoryMb ?? {})
  return names.map((name) => {
    const at = (lo: number, hi: number) =>
      median(window.filter((x) => x.s >= lo && x.s <= hi).map((x) => x.memoryMb[name] ?? 0))
    const from = at(first, first + 60)
    const to = at(last - 60, last)
    const allowed = Math.max(from * 0.05, 20)
    return { name, from, to, allowed: round(allowed), ok: to - from < allowed }
  })
}

/** Whether a level stopped rising: the highest of the window's second half against its first half's. */
function levelTrend(name: string, values: Array<{ s: number; v: number }>, slack: number): Trend {
  const mid = ((values[0]?.s ?? 0) + (values.at(-1)?.s ?? 0)) / 2
  const from = Math.max(0, ...values.filter((x) => x.s < mid).map((x) => x.v))
  const to = Math.max(0, ...values.filter((x) => x.s >= mid).map((x) => x.v))
  const allowed = round(from * 0.1 + slack)
  return { name, from, to, allowed, ok: to - from <= allowed }
}

export function boundedTrends(samples: SoakSample[], fromS: number): Trend[] {
  const window = samples.filter((x) => x.s >= fromS)
  const inboxes = Object.keys(window[0]?.inboxRows ?? {})
  return [
    ...inboxes.map((inbox) =>
      levelTrend(
        `${inbox} rows`,
        window.map((x) => ({ s: x.s, v: x.inboxRows[inbox] ?? 0 })),
        1000,
      ),
    ),
    ...inboxes.map((inbox) =>
      levelTrend(
        `${inbox} oldest row, s`,
        window.map((x) => ({ s: x.s, v: x.oldestAgeS?.[inbox] ?? 0 })),
        30,
      ),
    ),
    levelTrend(
      'retained WAL, MB',
      window.map((x) => ({ s: x.s, v: x.walRetainedMb })),
      16,
    ),
    levelTrend(
      'Kafka log, MB',
      window.map((x) => ({ s: x.s, v: x.kafkaLogMb })),
      64,
    ),
  ]
}

export function latencyTrends(minutes: MinuteLatency[], fromMinute: number): Trend[] {
  const window = minutes.filter((m) => m.minute >= fromMinute)
  const third = Math.max(1, Math.floor(window.length / 3))
  const inboxes = Object.keys(window[0]?.ms ?? {})
  return inboxes.map((inbox) => {
    const p99 = (ms: MinuteLatency[]) => mean(ms.map((m) => (m.ms[inbox] as Summary).p99))
    const from = round(p99(window.slice(0, third)))
    const to = round(p99(window.slice(-third)))
    const allowed = round(from * 0.5 + 100)
    return { name: `${inbox} p99, ms`, from, to, allowed, ok: to - from <= allowed }
  })
}

export function cleanOutcome(o: SoakOutcome): boolean {
  const errors = Object.values(o.errors).reduce((a, b) => a + b, 0)
  return (
    errors === 0 &&
    o.deadLetters === 0 &&
    o.lost === 0 &&
    o.appliedTwice === 0 &&
    o.fulfilled === o.orders &&
    o.shipments === o.orders
  )
}

/** The soak's verdicts; the trends fail the run only when `enforceTrends` (a long enough run). */
export function soakVerdicts(run: {
  samples: SoakSample[]
  latency: MinuteLatency[]
  outcome: SoakOutcome
  warmupS: number
  enforceTrends: boolean
  /** Orders a second offered, and acknowledged over the load. */
  rate: { offeredPerS: number; acknowledgedPerS: number }
}): SoakVerdicts {
  const memory = memoryTrends(run.samples, run.warmupS)
  const bounded = boundedTrends(run.samples, run.warmupS)
  const latency = latencyTrends(run.latency, Math.floor(run.warmupS / 60))
  const clean = cleanOutcome(run.outcome)
  const steady = run.rate.acknowledgedPerS >= run.rate.offeredPerS * 0.97
  const trendsOk = [...memory, ...bounded, ...latency].every((t) => t.ok)
  return {
    memory,
    bounded,
    latency,
    clean,
    steady,
    trendsEnforced: run.enforceTrends,
    ok: clean && steady && (trendsOk || !run.enforceTrends),
  }
}
