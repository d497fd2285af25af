import type { DoctorRun } from './beside.ts'
import type { MinuteLatency } from './latency.ts'
import type { ConsumerCounters } from './outcome.ts'
import type { SoakOutcome, SoakSample, SoakVerdicts, Trend } from './verdict.ts'

/** A soak run as `npm run soak` writes it to bench/results/<label>.json. */
export interface SoakResult {
  at: string
  minutes: number
  warmupMinutes: number
  offered: { apiPerS: number; bulkPerS: number; bulkPerTx: number }
  /** POST /orders answered 503 (and tried again after a second), by minute of the load. */
  shedByMinute: number[]
  achieved: { apiPerS: number; bulkPerS: number }
  retention: { inbox: string; topicsMs: number; dlqMs: number }
  samples: SoakSample[]
  latency: MinuteLatency[]
  doctor: DoctorRun[]
  /** Each consumer's counters at the end, from its /metrics. */
  counters: Record<string, ConsumerCounters>
  outcome: SoakOutcome
  verdicts: SoakVerdicts
}

const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`
const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0)
const mark = (ok: boolean) => (ok ? 'yes' : '**no**')

/** The samples nearest each whole `everyS` seconds, the last one included. */
function thinned(samples: SoakSample[], everyS: number): SoakSample[] {
  const picked = new Map<number, SoakSample>()
  for (const sample of samples) {
    const slot = Math.round(sample.s / everyS)
    const current = picked.get(slot)
    if (!current || Math.abs(sample.s - slot * everyS) < Math.abs(current.s - slot * everyS))
      picked.set(slot, sample)
  }
  const last = samples.at(-1)
  const rows = [...picked.values()]
  if (last && !rows.includes(last)) rows.push(last)
  return rows
}

function trendTable(title: string, trends: Trend[]): string[] {
  return [
    row([title, 'after warm-up', 'at the end', 'growth allowed', 'held']),
    row(['---', '---:', '---:', '---:', '---']),
    ...trends.map((t) => row([t.name, t.from, t.to, t.allowed, mark(t.ok)])),
  ]
}

/** The soak's report, as bench/results/<label>.md and docs/benchmark.md show it. */
export function renderSoakReport(r: SoakResult, label: string): string {
  const o = r.outcome
  const v = r.verdicts
  const everyS = r.minutes >= 10 ? 300 : 60
  const shown = thinned(r.samples, everyS)
  const names = Object.keys(r.samples[0]?.memoryMb ?? {})
  const inboxes = Object.keys(r.samples[0]?.inboxRows ?? {})
  const notOk = [...new Set(r.doctor.flatMap((d) => d.notOk))]
  return [
    `### Soak: ${r.minutes} minutes at ${r.offered.apiPerS + r.offered.bulkPerS} orders/s (\`${label}\`, ${r.at.slice(0, 10)})`,
    '',
    `${r.offered.apiPerS} orders/s by POST /orders and ${r.offered.bulkPerS} by the bulk writer (${r.offered.bulkPerTx} orders and their OrderPlaced a transaction), open loop; achieved ${r.achieved.apiPerS} and ${r.achieved.bulkPerS}. Every order goes through the saga: the order service's consumer applies its OrderPlaced and then fulfilment's ShipmentDispatched, so the pipeline carries two events an order. The ops console ran throughout, and \`npm run doctor\` once a minute. Inbox retention ${r.retention.inbox}; event topics and DLQ keep ${r.retention.topicsMs / 1000} s. Warm-up: the first ${r.warmupMinutes} min, left out of the trends${v.trendsEnforced ? '' : ' (a run this short reports its trends without failing on them)'}.`,
    '',
    `**${v.ok ? 'Passed' : 'Failed'}.** ${v.steady ? 'The load held' : '**The load was not held**'}: ${(r.achieved.apiPerS + r.achieved.bulkPerS).toLocaleString('en')} orders/s acknowledged of ${(r.offered.apiPerS + r.offered.bulkPerS).toLocaleString('en')} offered. Orders: ${o.orders.toLocaleString('en')} written, ${o.fulfilled.toLocaleString('en')} fulfilled, ${o.lost} lost, ${o.appliedTwice} applied twice, ${o.shipments.toLocaleString('en')} shipments; ${o.deadLetters} dead letters; ${sum(o.errors)} errors (${Object.entries(
      o.errors,
    )
      .map(([k, n]) => `${k} ${n}`)
      .join(
        ', ',
      )}); ${sum(o.warnings)} warnings. POST /orders shed ${r.shedByMinute.reduce((a, b) => a + b, 0)} requests with 503, each tried again a second later${r.shedByMinute.some((n) => n > 0) ? ` (by minute: ${r.shedByMinute.join(', ')})` : ''}. Doctor: ${r.doctor.filter((d) => d.ok).length} of ${r.doctor.length} runs passed${notOk.length > 0 ? `; not ok at some point: ${notOk.join(', ')}` : ', every check ok'}.`,
    '',
    `Each consumer's counters at the end (from its /metrics): ${Object.entries(r.counters)
      .map(
        ([name, c]) =>
          `${name}: ${c.refused} refused transitions, ${c.duplicates} duplicates skipped, ${c.retries} retries, ${c.fallbacks} batches applied one by one, ${c.deadLettered} dead-lettered`,
      )
      .join('; ')}.`,
    '',
    row(['memory, MB', ...names.map((n) => `${n}`)]),
    row(['---', ...names.map(() => '---:')]),
    ...shown.map((x) => row([`${Math.round(x.s / 60)} min`, ...names.map((n) => x.memoryMb[n] ?? 0)])),
    '',
    `Postgres is the PSS of the postmaster and every process under it (backends, workers); the others are one process's RSS.`,
    '',
    row(['', ...inboxes.map((i) => `${i} rows`), 'WAL held by the slot, MB', 'Kafka log, MB']),
    row(['---', ...inboxes.map(() => '---:'), '---:', '---:']),
    ...shown.map((x) =>
      row([
        `${Math.round(x.s / 60)} min`,
        ...inboxes.map((i) => (x.inboxRows[i] ?? 0).toLocaleString('en')),
        x.walRetainedMb,
        x.kafkaLogMb,
      ]),
    ),
    '',
    row(['minute', 'events', ...inboxes.flatMap((i) => [`${i} p50, ms`, `${i} p99, ms`])]),
    row(['---:', '---:', ...inboxes.flatMap(() => ['---:', '---:'])]),
    ...r.latency.map((m) =>
      row([
        m.minute,
        m.events.toLocaleString('en'),
        ...inboxes.flatMap((i) => [m.ms[i]?.p50 ?? '', m.ms[i]?.p99 ?? '']),
      ]),
    ),
    '',
    "Commit → applied of the bulk writer's events: from the writing transaction's commit to the commit of the consumer's transaction that recorded it in the inbox, both `pg_xact_commit_timestamp`.",
    '',
    ...trendTable('memory, MB', v.memory),
    '',
    ...trendTable('level', v.bounded),
    '',
    ...trendTable('commit → applied', v.latency),
    '',
  ].join('\n')
}
