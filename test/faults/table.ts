import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { repoRoot } from '../../stack/lib/config.ts'

/** The committed result of the last full run (npm run test:faults), which docs/guarantees.md quotes. */
export const fullRunFile = join(repoRoot, 'test', 'faults', 'results', 'full.json')

/** One scenario's figures, as the fault suite records them. */
export interface FaultRow {
  scenario: string
  writesCommitted: number
  eventsApplied: number
  duplicatesSkipped: number
  /** Records of this scenario's events that Kafka holds twice (read_committed), as the audit read them. */
  duplicatesInKafka?: number
  rejected: number
  lost: number
  doubleApplied: number
  /** Requests the load generator had to send again (connection refused or reset, 5xx). */
  clientRetries: number
  /** The longest commit → applied delay of an event written during the scenario. */
  maxDelayMs: number
  /** From the fault to the first event written after it being applied, in seconds. */
  deliveringAgainS?: number
  /** Failover only: seconds until the connector's task ran on a surviving worker. */
  taskMovedS?: number
  /** Failover only: whether exactly-once source delivery was on. */
  exactlyOnce?: boolean
  /** Consumer kills only: applied-but-uncommitted records the killed members held. */
  uncommittedAtKill?: number
  /** Saga only: orders fulfilled, cancelled, still placed, and books or orders the saga audit found wrong. */
  fulfilled?: number
  cancelled?: number
  stuck?: number
  sagaWrong?: number
  /** Saga only: redeliveries both inboxes skipped, and the longest an order waited to be fulfilled or cancelled. */
  sagaDuplicatesSkipped?: number
  longestSettleMs?: number
  /** Records the audit read from Kafka (duplicates included), and what it found wrong by id. */
  recordsInKafka: number
  wrongById: number
  seconds: number
}

export interface FaultRun {
  writes: number
  seed: number
  consumerKills?: number
  at: string
  rows: FaultRow[]
}

const n = (value: number | undefined) => (value === undefined ? '–' : value.toLocaleString('en-US'))

/** What shows that the scenario's fault hurt: the figure its test asserts on. */
function evidence(row: FaultRow): string {
  if (row.uncommittedAtKill !== undefined)
    return `${n(row.uncommittedAtKill)} applied-but-uncommitted records counted at the kills, ${n(row.duplicatesSkipped)} redelivered`
  if (/^(api|postgres)/.test(row.scenario)) return `${n(row.clientRetries)} client retries`
  return `events waited up to ${(row.maxDelayMs / 1000).toFixed(1)} s`
}

/** The fault table, made from a run's result file so the page and the run cannot drift apart. */
export function renderFaultTable(run: FaultRun): string {
  const head =
    '| scenario | writes committed | events applied | duplicates skipped | refused requests | lost | applied twice | wrong by event id | the fault mattered | seconds |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |'
  const lines = run.rows.map(
    (r) =>
      `| ${r.scenario} | ${n(r.writesCommitted)} | ${n(r.eventsApplied)} | ${n(r.duplicatesSkipped)} | ${n(r.rejected)} | ${n(r.lost)} | ${n(r.doubleApplied)} | ${n(r.wrongById)} | ${evidence(r)} | ${n(r.seconds)} |`,
  )
  return [
    `From \`test/faults/results/full.json\`: ${n(run.writes)} writes a scenario, seed ${run.seed}, run ${run.at}.`,
    '',
    head,
    ...lines,
  ].join('\n')
}

const markers = {
  fault: ['<!-- fault-table:begin (npm run faults:table) -->', '<!-- fault-table:end -->'],
  failover: ['<!-- failover-table:begin (npm run faults:table) -->', '<!-- failover-table:end -->'],
  saga: ['<!-- saga-table:begin (npm run faults:table) -->', '<!-- saga-table:end -->'],
} as const

export type FaultTable = keyof typeof markers

/**
 * Where each generated table lives, from the repository's root: the docs page of its subject
 * (`npm run faults:table` writes them there, and a unit test checks each page against its run).
 */
export const tablePages: Record<FaultTable, string> = {
  fault: 'docs/guarantees.md',
  saga: 'docs/guarantees.md',
  failover: 'docs/production.md',
}

/** The page with the fault (failover, saga) table between its markers replaced by `table`. */
export function withFaultTable(page: string, table: string, which: FaultTable = 'fault'): string {
  const [begin, end] = markers[which]
  const from = page.indexOf(begin)
  const to = page.indexOf(end)
  if (from < 0 || to < from) throw new Error(`${tablePages[which]} lacks the markers ${begin} … ${end}`)
  return `${page.slice(0, from + begin.length)}\n${table}\n${page.slice(to)}`
}

export const readFullRun = () => JSON.parse(readFileSync(fullRunFile, 'utf8')) as FaultRun

/** The committed result of the last full failover run (three Kafka nodes, two Connect workers). */
export const failoverRunFile = join(repoRoot, 'test', 'faults', 'results', 'failover.json')
export const readFailoverRun = () => JSON.parse(readFileSync(failoverRunFile, 'utf8')) as FaultRun

const seconds = (value: number | undefined) => (value === undefined ? '–' : value.toFixed(1))

/** The failover table, made from the failover run's result file. */
export function renderFailoverTable(run: FaultRun): string {
  const head =
    '| scenario | writes committed | events applied | duplicates in Kafka | duplicates skipped | lost | applied twice | wrong by event id | task on the other worker after (s) | first new event applied after (s) | longest wait (s) |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  const lines = run.rows.map(
    (r) =>
      `| ${r.scenario} | ${n(r.writesCommitted)} | ${n(r.eventsApplied)} | ${n(r.duplicatesInKafka)} | ${n(r.duplicatesSkipped)} | ${n(r.lost)} | ${n(r.doubleApplied)} | ${n(r.wrongById)} | ${seconds(r.taskMovedS)} | ${seconds(r.deliveringAgainS)} | ${seconds(r.maxDelayMs / 1000)} |`,
  )
  return [
    `From \`test/faults/results/failover.json\`: ${n(run.writes)} writes a scenario, seed ${run.seed}, run ${run.at}.`,
    '',
    head,
    ...lines,
  ].join('\n')
}

/** The committed result of the last full saga run (fulfilment and the order consumer killed mid-flow). */
export const sagaRunFile = join(repoRoot, 'test', 'faults', 'results', 'saga.json')
export const readSagaRun = () => JSON.parse(readFileSync(sagaRunFile, 'utf8')) as FaultRun

/** The saga table, made from the saga run's result file. */
export function renderSagaTable(run: FaultRun): string {
  const head =
    '| scenario | writes committed | fulfilled | cancelled | still placed | wrong (status, stock or units) | wrong by event id | redeliveries skipped | longest placed → settled (s) |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'
  const lines = run.rows.map(
    (r) =>
      `| ${r.scenario} | ${n(r.writesCommitted)} | ${n(r.fulfilled)} | ${n(r.cancelled)} | ${n(r.stuck)} | ${n(r.sagaWrong)} | ${n(r.wrongById)} | ${n(r.sagaDuplicatesSkipped)} | ${seconds((r.longestSettleMs ?? 0) / 1000)} |`,
  )
  return [
    `From \`test/faults/results/saga.json\`: ${n(run.writes)} writes a scenario, seed ${run.seed}, run ${run.at}.`,
    '',
    head,
    ...lines,
  ].join('\n')
}

/** Each table, rendered from its committed result file. */
export function renderTable(which: FaultTable): string {
  if (which === 'failover') return renderFailoverTable(readFailoverRun())
  if (which === 'saga') return renderSagaTable(readSagaRun())
  return renderFaultTable(readFullRun())
}

/**
 * Prints a run's rows and writes its result file (`file` is from the repository's root): the
 * run's settings, then when it finished, then its rows, as the read… functions above take it.
 */
export function writeFaultRun(file: string, settings: Record<string, unknown>, rows: FaultRow[]) {
  console.table(rows)
  const path = join(repoRoot, file)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify({ ...settings, at: new Date().toISOString(), rows }, null, 2)}\n`)
}
