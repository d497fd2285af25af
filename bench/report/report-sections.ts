import { ratio } from '../measurement/stats.ts'
import type { ConsumerPhaseResult } from '../phases/consumer-phase.ts'
import type { ExactlyOnceResult } from '../phases/exactly-once-phase.ts'
import type { OverloadResult } from '../phases/overload-phase.ts'
import type { RelayComparison } from '../phases/relay-phase.ts'
import type { SagaResult } from '../phases/saga-phase.ts'
import { type EndToEndResult, writerLabel } from '../workloads/end-to-end.ts'

const components = ['load generator', 'api', 'postgres', 'connect', 'relay', 'kafka', 'consumer', 'total']

/** A table of CPU ms per unit of work, one column per measured run. */
export function cpuTable(
  unit: string,
  columns: Array<[string, Record<string, number> | undefined]>,
): string[] {
  const present = columns.filter((c): c is [string, Record<string, number>] => c[1] !== undefined)
  if (present.length === 0) return []
  const rows = components.filter((c) => present.some(([, cpu]) => (cpu[c] ?? 0) !== 0))
  return [
    `CPU ms per ${unit}, by process (from /proc: Postgres is this stack's postmaster and its children, backends that exited included; the load generator is the bench process, which also runs the raw baselines):`,
    '',
    `| process | ${present.map(([name]) => name).join(' | ')} |`,
    `|---|${present.map(() => '---').join('|')}|`,
    ...rows.map((c) => `| ${c} | ${present.map(([, cpu]) => cpu[c] ?? 0).join(' | ')} |`),
    '',
  ]
}

const lat = (r: EndToEndResult) => `${r.latencyMs.p50} / ${r.latencyMs.p99}`
const cpuOf = (r: EndToEndResult | undefined, c: string) => r?.cpuMsPerEvent?.[c] ?? 0
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
const mean = (xs: number[]) => (xs.length ? Math.round((sum(xs) / xs.length) * 100) / 100 : 0)

/** CDC against the relay at equal poll intervals and batch sizes, and what each wins and loses. */
export function relaySection(comparisons: RelayComparison[]): string[] {
  if (comparisons.length === 0) return []
  const lines = [
    'CDC against the polling relay, both polling at the same interval with the same batch size (the relay in a process of its own, applied by a consumer of its own); p50 / p99 ms, commit → applied:',
    '',
    '| poll (both) | load | CDC | relay | relay ÷ CDC p50 | postgres CPU ms/event CDC / relay | publisher CPU ms/event connect / relay | WAL bytes/event CDC / relay |',
    '|---|---|---|---|---|---|---|---|',
  ]
  const pairs: Array<[EndToEndResult, EndToEndResult]> = []
  for (const { intervalMs, batchSize, cdc, relay } of comparisons)
    for (const polled of relay) {
      const c = cdc.find((r) => r.offeredPerS === polled.offeredPerS && r.writer === polled.writer)
      if (!c) continue
      pairs.push([c, polled])
      lines.push(
        `| ${intervalMs} ms, batch ${batchSize} | ${polled.offeredPerS}/s ${writerLabel[polled.writer]} | ${lat(c)} | ${lat(polled)} | ${ratio(polled.latencyMs.p50, c.latencyMs.p50)} | ${cpuOf(c, 'postgres')} / ${cpuOf(polled, 'postgres')} | ${cpuOf(c, 'connect')} / ${cpuOf(polled, 'relay')} | ${c.walBytesPerEvent ?? '?'} / ${polled.walBytesPerEvent ?? '?'} |`,
      )
    }
  const pgCdc = mean(pairs.map(([c]) => cpuOf(c, 'postgres')))
  const pgRelay = mean(pairs.map(([, r]) => cpuOf(r, 'postgres')))
  const walCdc = mean(pairs.map(([c]) => c.walBytesPerEvent ?? 0))
  const walRelay = mean(pairs.map(([, r]) => r.walBytesPerEvent ?? 0))
  lines.push(
    '',
    'What CDC wins and loses against a relay polling as often:',
    `- **Latency**: at the same interval the difference is what the relay's query, lock, update and commit add to a poll, and what Connect's own steps add to CDC's (the column relay ÷ CDC). At unequal intervals the ratio mostly measures the two intervals.`,
    `- **Load on the database**: Postgres spent ${pgCdc} CPU ms per event with CDC (its walsender decodes the WAL) and ${pgRelay} with the relay (its select … for update skip locked and update, which poll even when there is nothing to send), averaged over the loads above.`,
    '- **Ordering**: CDC publishes in commit order, as the WAL has it. The relay publishes in `seq` order among the rows committed when it polls: a transaction that took a lower `seq` but commits after a higher one is published after it; with a second relay instance (SKIP LOCKED) two batches go out in either order.',
    `- **Extra writes**: the relay updates every row it sends (a new row version, its index entry and its WAL, and the rows are deleted later); CDC writes nothing per event beyond the outbox insert and delete both paths make here, and reads the WAL instead. WAL per event over each run (writers, publisher and consumer together): ${walCdc} bytes with CDC, ${walRelay} with the relay, whose figure also holds the trigger's copy into its table.`,
    '- **What CDC costs instead**: a Kafka Connect JVM (its CPU is the connect column) and a replication slot, which keeps WAL on disk for as long as the connector is stopped.',
    '',
  )
  return lines
}

/** The backlog publish figures by poll interval, CDC and the relay each. */
export function publishSection(publish: {
  events: number
  batchSize?: number
  cdcPerS: Record<string, number> | number
  relayPerS: Record<string, number>
  cdcToRelay: Record<string, number>
}): string[] {
  if (typeof publish.cdcPerS === 'number') return []
  const lines = [
    `Publishing a backlog of ${publish.events} events into Kafka, batches of ${publish.batchSize} for both (CDC: written while the connector was PAUSED, its source offsets checked unmoved until the resume, timed from the resume; the relay: timed from its first poll, in a process of its own):`,
    '',
    '| poll (both) | CDC events/s | relay events/s | CDC ÷ relay |',
    '|---|---|---|---|',
  ]
  for (const [interval, perS] of Object.entries(publish.cdcPerS))
    lines.push(
      `| ${interval} ms | ${perS} | ${publish.relayPerS[interval]} | ${publish.cdcToRelay[interval]} |`,
    )
  lines.push('')
  return lines
}

/** The consumer against kafkajs alone and against its own SQL sent from postgres.js. */
export function consumerSection(c: ConsumerPhaseResult): string[] {
  if (!c.sqlPerS) return []
  return [
    `Consuming ${c.events} OrderPlaced records (each consumer timed from its group join to the last record handled: kafkajs alone's last batch, the consumer's last apply commit):`,
    '',
    '| | events/s | consumer ÷ this |',
    '|---|---|---|',
    `| consumer (inbox + read model) | ${c.consumerPerS} | 1 |`,
    `| kafkajs alone (records counted, nothing else) | ${c.rawPerS} | ${c.consumerToRaw} |`,
    `| the consumer's SQL from postgres.js, prepared | ${c.sqlPerS.prepared} | ${c.consumerToSql.prepared} |`,
    `| the consumer's SQL from postgres.js, unprepared | ${c.sqlPerS.unprepared} | ${c.consumerToSql.unprepared} |`,
    '',
    ...(c.consumerRssMb
      ? [
          `The consumer's resident memory: ${c.consumerRssMb.before} MB when it joined, a peak of ${c.consumerRssMb.peak} MB while draining the ${c.events.toLocaleString('en-US')} records (kafkajs fetches no more than 10 MB at a time, 1 MB a partition, whatever the lag).`,
          '',
        ]
      : []),
    `The SQL baseline runs the consumer's own applyInTransaction for each batch (one inbox insert over unnest arrays … on conflict … returning the ids already held, advisory locks over the sorted keys, one catalogue upsert), without Kafka, parsing or validation, in batches of ${c.batchSize}, ${c.partitionsConcurrently} partitions at once: consumer ÷ kafkajs alone is the whole cost of applying, consumer ÷ SQL baseline the part that is not the database's own work.`,
    '',
    ...cpuTable('record consumed', [
      ['consumer', c.cpuMsPerEvent.consumer],
      ['kafkajs alone', c.cpuMsPerEvent.raw],
      ['SQL prepared', c.cpuMsPerEvent.sqlPrepared],
      ['SQL unprepared', c.cpuMsPerEvent.sqlUnprepared],
    ]),
  ]
}

/** The saga's loop: placed → fulfilled through both services and both outboxes. */
export function sagaSection(s: SagaResult): string[] {
  const t = s.placedToFulfilledMs
  return [
    `The saga's whole loop (API → outbox → Debezium → fulfilment's inbox, shipment and outbox → Debezium → the order service's consumer), on a stack of its own with the fulfilment service: order placed → fulfilled (created_at from the API, fulfilled_at from Postgres, clocks of one machine), at ${s.steadyRate} orders/s for ${s.steadyOrders.toLocaleString('en-US')} orders, and a burst of ${s.burstOrders.toLocaleString('en-US')} orders placed as fast as the API took them, from the first placed to the last fulfilled:`,
    '',
    '| placed → fulfilled, p50 / p95 / p99 / max ms | burst: orders fulfilled end to end per s |',
    '|---|---|',
    `| ${t.p50} / ${t.p95} / ${t.p99} / ${t.max} | ${s.burstFulfilledPerS} |`,
    '',
  ]
}

/** At-least-once against exactly-once delivery, each on a stack of its own. */
export function exactlyOnceSection(e: ExactlyOnceResult): string[] {
  const lines = [
    'Exactly-once source delivery (KIP-618) against at-least-once, each on a stack of its own, alone on the machine: commit → applied at 1,000 events/s (bulk writer), and a backlog written while the connector was paused, timed from the resume until the consumer applied all of it:',
    '',
    '| delivery | p50 / p95 / p99 / max ms at 1,000/s | backlog delivered, events/s |',
    '|---|---|---|',
  ]
  for (const m of e.modes)
    lines.push(
      `| ${m.exactlyOnce ? 'exactly-once' : 'at-least-once'} | ${m.steady.latencyMs.p50} / ${m.steady.latencyMs.p95} / ${m.steady.latencyMs.p99} / ${m.steady.latencyMs.max} | ${m.backlogPerS} |`,
    )
  lines.push('', `Exactly-once ÷ at-least-once: p99 ${e.p99Ratio}, backlog rate ${e.backlogRatio}.`, '')
  return lines
}

/** POST /orders offered five times what it holds: shed, not queued (docs/api.md, Overload). */
export function overloadSection(o: OverloadResult): string[] {
  const other = Object.entries(o.otherAnswers)
  return [
    `Overload: POST /orders held ${o.heldPerS}/s with p99 ${o.heldP99Ms} ms (p99 ≤ 1 s, found in this run); then ${o.offeredPerS}/s (5 ×) was offered for ${o.seconds} s, open loop:`,
    '',
    '| acknowledged writes/s | shed (503) | other answers | p99 of acknowledged, ms | API RSS before → peak, MB | recovered after, ms |',
    '|---|---|---|---|---|---|',
    `| ${o.acknowledgedPerS} | ${Math.round(o.shedShare * 1000) / 10}% | ${other.length === 0 ? 'none' : other.map(([s, n]) => `${s}: ${n}`).join(', ')} | ${o.acknowledgedP99Ms} | ${o.rssMb.before} → ${o.rssMb.peak} | ${o.recoverMs} |`,
    '',
    `${o.acknowledged.toLocaleString('en-US')} orders acknowledged, ${o.ordersWritten.toLocaleString('en-US')} written, ${o.applied.toLocaleString('en-US')} applied by the consumer; by id, ${o.writtenUnacknowledged} written but not acknowledged and ${o.acknowledgedMissing} acknowledged but not written. Recovery is timed from when the overload stopped being offered, so it includes answering what was still in flight.`,
    '',
  ]
}
