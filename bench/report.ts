import { type Panel, renderChart } from './chart.ts'
import type { EndToEndResult } from './end-to-end.ts'
import { ratio } from './stats.ts'
import type { WritePathResult } from './write-path.ts'

export interface BenchRecord {
  label: string
  startedAt: string
  machine: {
    cpu: string
    memoryGiB: number
    node: string
    postgres: string
    kafka: string
    debezium: string
  } & Record<string, unknown>
  settings: Record<string, unknown>
  results: {
    writePath?: {
      api: WritePathResult
      raw: WritePathResult
      apiToRaw: number
      cpuMsPerWrite?: { api: Record<string, number>; raw: Record<string, number> }
    }
    steady?: EndToEndResult[]
    hold?: EndToEndResult[]
    consumer?: {
      events: number
      consumerPerS: number
      rawPerS: number
      consumerToRaw: number
      cpuMsPerEvent?: { consumer: Record<string, number>; raw: Record<string, number> }
    }
    /** Relay figures by poll interval (ms). */
    publish?: {
      events: number
      cdcPerS: number
      relayPerS: Record<string, number>
      cdcToRelay: Record<string, number>
    }
    relay?: Record<string, EndToEndResult[]>
  }
}

interface Target {
  target: string
  measured: string
  met: boolean | undefined
}

/** A load is held when it was delivered (≥ 97% of offered) and the backlog did not grow. */
export const kept = (r: EndToEndResult) => r.held && r.achievedPerS >= r.offeredPerS * 0.97
const pct = (n: number) => `${Math.round(n * 100)}%`
const lat = (r: EndToEndResult) =>
  `${r.latencyMs.p50} / ${r.latencyMs.p95} / ${r.latencyMs.p99} / ${r.latencyMs.max}`

function targets({ results }: BenchRecord): Target[] {
  const out: Target[] = []
  const w = results.writePath
  if (w)
    out.push({
      target: 'API ≥ 70% of raw-driver throughput',
      measured: `${pct(w.apiToRaw)} (${w.api.perS} vs ${w.raw.perS}/s)`,
      met: w.apiToRaw >= 0.7,
    })
  const at1000 = results.steady?.find((r) => r.offeredPerS === 1000)
  if (at1000)
    out.push({
      target: 'end-to-end p99 ≤ 250 ms at 1,000 events/s',
      measured: `${at1000.latencyMs.p99} ms`,
      met: at1000.latencyMs.p99 <= 250,
    })
  const held = results.hold?.filter(kept)
  if (results.hold) {
    // A rate is held when it was delivered (≥ 97% of offered) without the backlog growing.
    const best = held?.sort((a, b) => b.offeredPerS - a.offeredPerS)[0]
    out.push({
      target: '≥ 3,000 events/s sustained end to end for 60 s',
      measured: best
        ? `${best.offeredPerS}/s offered, ${best.achievedPerS}/s written and applied for ${best.seconds} s`
        : 'no rate held',
      met: best !== undefined && best.offeredPerS >= 3000 && best.seconds >= 59,
    })
  }
  const relay1s = results.relay?.['1000']
  for (const cdc of results.steady ?? []) {
    const polled = relay1s?.find((r) => r.offeredPerS === cdc.offeredPerS)
    if (polled)
      out.push({
        target: `CDC p50 ≤ 1/5 of the 1 s relay's at ${cdc.offeredPerS}/s`,
        measured: `${cdc.latencyMs.p50} vs ${polled.latencyMs.p50} ms (1/${Math.round((polled.latencyMs.p50 / cdc.latencyMs.p50) * 10) / 10})`,
        met: cdc.latencyMs.p50 * 5 <= polled.latencyMs.p50,
      })
  }
  const c = results.consumer
  if (c)
    out.push({
      target: 'consumer ≥ 50% of raw kafkajs consumption',
      measured: `${pct(c.consumerToRaw)} (${c.consumerPerS} vs ${c.rawPerS}/s)`,
      met: c.consumerToRaw >= 0.5,
    })
  return out
}

function chartPanels({ results }: BenchRecord): Panel[] {
  const panels: Panel[] = []
  const latencyRows: Panel['rows'] = []
  const row = (label: string, r: EndToEndResult) =>
    latencyRows.push({
      label,
      values: [
        { series: 'p50', value: r.latencyMs.p50 },
        { series: 'p99', value: r.latencyMs.p99 },
      ],
    })
  for (const r of results.steady ?? []) row(`CDC at ${r.offeredPerS}/s`, r)
  for (const [interval, runs] of Object.entries(results.relay ?? {}))
    for (const r of runs) row(`relay ${interval} ms at ${r.offeredPerS}/s`, r)
  if (latencyRows.length) panels.push({ title: 'Commit → applied latency', unit: 'ms', rows: latencyRows })
  const rateRows: Panel['rows'] = []
  if (results.writePath)
    rateRows.push({
      label: 'writes: API vs raw driver',
      values: [
        { series: 'ours', value: results.writePath.api.perS },
        { series: 'baseline', value: results.writePath.raw.perS },
      ],
    })
  if (results.publish)
    rateRows.push({
      label: 'publish backlog: CDC vs relay',
      values: [
        { series: 'ours', value: results.publish.cdcPerS },
        ...Object.entries(results.publish.relayPerS).map(([interval, value]) => ({
          series: `relay ${interval} ms`,
          value,
        })),
      ],
    })
  if (results.consumer)
    rateRows.push({
      label: 'consume: inbox vs kafkajs alone',
      values: [
        { series: 'ours', value: results.consumer.consumerPerS },
        { series: 'baseline', value: results.consumer.rawPerS },
      ],
    })
  if (rateRows.length) panels.push({ title: 'Throughput', unit: 'events/s', rows: rateRows })
  return panels
}

const components = ['load generator', 'api', 'postgres', 'connect', 'kafka', 'consumer', 'total']

/** A table of CPU ms per unit of work, one column per measured run. */
function cpuTable(unit: string, columns: Array<[string, Record<string, number> | undefined]>): string[] {
  const present = columns.filter((c): c is [string, Record<string, number>] => c[1] !== undefined)
  if (present.length === 0) return []
  return [
    `CPU ms per ${unit}, by process (from /proc; the load generator is the bench process, which also runs the raw baselines):`,
    '',
    `| process | ${present.map(([name]) => name).join(' | ')} |`,
    `|---|${present.map(() => '---').join('|')}|`,
    ...components.map((c) => `| ${c} | ${present.map(([, cpu]) => cpu[c] ?? 0).join(' | ')} |`),
    '',
  ]
}

export function renderReport(record: BenchRecord) {
  const { results, machine } = record
  const lines: string[] = [
    `Run \`${record.label}\` of ${record.startedAt}: ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.postgres.split(' on ')[0]}, Kafka ${machine.kafka}, Debezium ${machine.debezium}; every component and the load generator on this one machine.`,
    '',
  ]
  const t = targets(record)
  if (t.length) {
    lines.push('| Target | Measured | Met |', '|---|---|---|')
    for (const row of t) lines.push(`| ${row.target} | ${row.measured} | ${row.met ? 'yes' : 'no'} |`)
    lines.push('')
  }
  if (results.writePath) {
    const { api, raw } = results.writePath
    lines.push(
      `Write path, ${api.concurrency} concurrent callers, ${api.seconds} s each:`,
      '',
      '| | writes/s | p50 ms | p99 ms |',
      '|---|---|---|---|',
    )
    lines.push(`| POST /orders (API) | ${api.perS} | ${api.latencyMs.p50} | ${api.latencyMs.p99} |`)
    lines.push(
      `| raw postgres.js, same statements | ${raw.perS} | ${raw.latencyMs.p50} | ${raw.latencyMs.p99} |`,
      '',
    )
    lines.push(
      ...cpuTable('write', [
        ['POST /orders', results.writePath.cpuMsPerWrite?.api],
        ['raw postgres.js', results.writePath.cpuMsPerWrite?.raw],
      ]),
    )
  }
  const e2e: Array<[string, EndToEndResult]> = [
    ...(results.steady ?? []).map((r) => ['CDC', r] as [string, EndToEndResult]),
    ...(results.hold ?? []).map((r) => ['CDC (hold)', r] as [string, EndToEndResult]),
    ...Object.entries(results.relay ?? {}).flatMap(([interval, runs]) =>
      runs.map((r) => [`relay, poll ${interval} ms`, r] as [string, EndToEndResult]),
    ),
  ]
  if (e2e.length) {
    lines.push(
      'Commit → applied by the consumer (ms):',
      '',
      '| path | writer | offered/s | achieved/s | s | p50 / p95 / p99 / max | backlog growth/s | held (delivered, no growth) |',
      '|---|---|---|---|---|---|---|---|',
    )
    for (const [path, r] of e2e)
      lines.push(
        `| ${path} | ${r.writer} | ${r.offeredPerS} | ${r.achievedPerS} | ${r.seconds} | ${lat(r)} | ${r.backlogGrowthPerS} | ${kept(r) ? 'yes' : 'no'} |`,
      )
    lines.push('')
    lines.push(
      ...cpuTable(
        'event, CDC end to end',
        [...(results.steady ?? []), ...(results.hold ?? [])].map(
          (r) =>
            [`${r.offeredPerS}/s (${r.writer})`, r.cpuMsPerEvent] as [
              string,
              Record<string, number> | undefined,
            ],
        ),
      ),
    )
  }
  if (results.publish) {
    const { events, cdcPerS, relayPerS, cdcToRelay } = results.publish
    const relays = Object.entries(relayPerS).map(
      ([interval, perS]) => `polling relay every ${interval} ms ${perS}/s (CDC ×${cdcToRelay[interval]})`,
    )
    lines.push(
      `Publishing a backlog of ${events} events into Kafka: CDC ${cdcPerS}/s; ${relays.join('; ')}.`,
      '',
    )
  }
  const relayRuns = Object.entries(results.relay ?? {})
  if (relayRuns.length && results.steady) {
    lines.push(
      'CDC against the polling relay, same load (p50 and p99 ratios, relay ÷ CDC: above 1, CDC is faster):',
      '',
    )
    lines.push('| load | relay interval | p50 relay ÷ CDC | p99 relay ÷ CDC |', '|---|---|---|---|')
    for (const [interval, runs] of relayRuns)
      for (const polled of runs) {
        const cdc = results.steady.find(
          (r) => r.offeredPerS === polled.offeredPerS && r.writer === polled.writer,
        )
        if (cdc)
          lines.push(
            `| ${polled.offeredPerS}/s | ${interval} ms | ${ratio(polled.latencyMs.p50, cdc.latencyMs.p50)} | ${ratio(polled.latencyMs.p99, cdc.latencyMs.p99)} |`,
          )
      }
    lines.push('')
  }
  if (results.consumer)
    lines.push(
      `Consuming ${results.consumer.events} records: consumer with inbox + read model ${results.consumer.consumerPerS}/s, kafkajs alone ${results.consumer.rawPerS}/s (${pct(results.consumer.consumerToRaw)}).`,
      '',
      ...cpuTable('record consumed', [
        ['consumer', results.consumer.cpuMsPerEvent?.consumer],
        ['kafkajs alone', results.consumer.cpuMsPerEvent?.raw],
      ]),
    )
  const svg = renderChart(
    `outbox-cdc benchmark (${record.label})`,
    `${machine.cpu}, ${record.startedAt}`,
    chartPanels(record),
  )
  return { markdown: `${lines.join('\n')}\n`, svg, targets: t }
}
