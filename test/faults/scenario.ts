import { expect } from 'vitest'
import type { Rig } from '../../stack/rig.ts'
import { waitNoLag } from './consumer-kill.ts'
import { tally, waitConverged, writeLoad } from './load.ts'
import { auditSaga, waitSettled } from './saga-audit.ts'
import type { FaultRow } from './table.ts'
import { auditEvents } from './verify.ts'

export interface ScenarioOptions {
  /** Spread the writes over this long (ms), so they continue through an outage. */
  spreadOverMs?: number
  writes?: number
  /** The fault comes once this share of the writes is through, drawn between the two (0.2–0.6). */
  triggerBetween?: [number, number]
}

export type Fault = () => Promise<Partial<FaultRow> | undefined>

/**
 * The fault suites' scenario: runs the write stream, calls `fault` once a random share of it is
 * through, waits for the pipeline to catch up, checks the read model against the tables and every
 * committed row's event by id in Kafka and the inbox, and records the row. Returns it so the
 * caller can show that its fault mattered. Also measured: records Kafka holds twice (what a
 * read_committed consumer is delivered again), and how long after the fault the first event
 * written after it was applied (the pipeline delivering again).
 */
export function scenarioRunner(suite: {
  rig: () => Rig
  random: () => number
  writes: number
  rows: FaultRow[]
  group: string
  eventTopics: string[]
  /**
   * With the fulfilment service running: every order must end fulfilled or cancelled, with the
   * stock and the read model to match (see saga-audit.ts). Some books get a warehouse capacity so
   * both outcomes happen.
   */
  saga?: { initialStock: number; fulfilmentGroup: string; orderTopic: string }
}) {
  let kafkaDuplicatesBefore = 0
  return async function scenario(
    name: string,
    fault: Fault,
    options: ScenarioOptions = {},
  ): Promise<FaultRow> {
    const { random, rows, group, eventTopics } = suite
    const rig = suite.rig()
    const started = performance.now()
    const startedAt = new Date()
    const count = options.writes ?? suite.writes
    const before = await tally(rig.sql)
    const sagaBefore = suite.saga ? await auditSaga(rig.sql, suite.saga.initialStock) : undefined
    const [from, to] = options.triggerBetween ?? [0.2, 0.6]
    const trigger = Math.floor(count * (from + random() * (to - from)))
    let injected: Promise<Partial<FaultRow> | undefined> | undefined
    let faultAt = new Date()
    const load = await writeLoad(rig.apiUrl, count, {
      concurrency: 8,
      random,
      ...(suite.saga ? { capacityEvery: 3 } : {}),
      ...(options.spreadOverMs ? { ratePerS: count / (options.spreadOverMs / 1000) } : {}),
      onProgress: (done) => {
        if (injected || done < trigger) return
        faultAt = new Date()
        injected = fault()
      },
    })
    const extra = await injected
    expect(load.gaveUp, 'writes whose outcome is unknown').toBe(0)
    await waitConverged(rig.sql, 300_000)
    await waitNoLag(rig.kafka, group, eventTopics, 120_000)
    const saga = suite.saga
      ? await (async (s) => {
          await waitNoLag(rig.kafka, s.fulfilmentGroup, [s.orderTopic], 120_000)
          return waitSettled(rig.sql, s.initialStock, 300_000, startedAt)
        })(suite.saga)
      : undefined
    // The saga's own events reach the order side after it converged on the writes: wait for both.
    if (saga) await waitNoLag(rig.kafka, group, eventTopics, 120_000)
    const after = await tally(rig.sql)
    const audit = await auditEvents(rig.sql, rig.kafka, rig.connectorEnv.TOPIC_NAMESPACE, load.refused)
    const [timing] = await rig.sql<{ maxMs: number; recoveryMs: number | null }[]>`
      select
        (select coalesce(max(extract(epoch from consumed_at - occurred_at) * 1000), 0)::float8
          from consumed_events where occurred_at >= ${startedAt}) as "maxMs",
        (select (extract(epoch from min(consumed_at) - ${faultAt}::timestamptz) * 1000)::float8
          from consumed_events where occurred_at >= ${faultAt}) as "recoveryMs"`
    const wrong = [
      ...audit.missingInKafka,
      ...audit.publishedTwice,
      ...audit.notApplied,
      ...audit.appliedUnexplained,
      ...audit.refusedLeaked,
    ]
    const row: FaultRow = {
      scenario: name,
      writesCommitted: after.committed - before.committed,
      eventsApplied: after.applied - before.applied,
      duplicatesSkipped: after.duplicatesSkipped - before.duplicatesSkipped,
      duplicatesInKafka: audit.duplicateRecords - kafkaDuplicatesBefore,
      rejected: load.rejected,
      lost: after.committed - after.applied,
      doubleApplied: after.overCounted,
      clientRetries: load.retries,
      maxDelayMs: Math.round(timing?.maxMs ?? 0),
      deliveringAgainS: Math.round((timing?.recoveryMs ?? 0) / 100) / 10,
      ...extra,
      ...(saga
        ? {
            fulfilled: saga.fulfilled - (sagaBefore?.fulfilled ?? 0),
            cancelled: saga.cancelled - (sagaBefore?.cancelled ?? 0),
            stuck: saga.stuck,
            sagaWrong: saga.statusWrong + saga.stockWrong + saga.unitsWrong,
            sagaDuplicatesSkipped: saga.duplicatesSkipped - (sagaBefore?.duplicatesSkipped ?? 0),
            longestSettleMs: Math.round(saga.longestSettleMs),
          }
        : {}),
      recordsInKafka: audit.recordsRead,
      wrongById: wrong.length,
      seconds: Math.round((performance.now() - started) / 1000),
    }
    kafkaDuplicatesBefore = audit.duplicateRecords
    rows.push(row)
    expect(row.writesCommitted, 'every acknowledged write is committed').toBe(load.ok)
    expect(row.lost, 'committed writes whose event was never applied').toBe(0)
    expect(row.eventsApplied, 'events applied, none from a rejected request').toBe(row.writesCommitted)
    expect(row.doubleApplied, 'copies counted twice in the read model').toBe(0)
    expect(after.mismatchedBooks).toBe(0)
    expect(load.rejected).toBeGreaterThan(0)
    if (saga) {
      expect(saga, 'every order fulfilled or cancelled, its stock and units to match').toMatchObject({
        stuck: 0,
        statusWrong: 0,
        stockWrong: 0,
        unitsWrong: 0,
        shipments: saga.orders,
        shipmentEventsApplied: saga.orders,
        cancellationsApplied: saga.cancelled,
        fulfilmentInbox: saga.orders + saga.cancelled,
      })
      expect(saga.fulfilled + saga.cancelled).toBe(saga.orders)
      expect(saga.cancelled, 'both outcomes happened').toBeGreaterThan(0)
      expect(saga.fulfilled, 'both outcomes happened').toBeGreaterThan(0)
    }
    expect(audit, 'every committed row has one event, applied; nothing else applied').toMatchObject({
      missingInKafka: [],
      publishedTwice: [],
      notApplied: [],
      appliedUnexplained: [],
      refusedLeaked: [],
    })
    return row
  }
}
