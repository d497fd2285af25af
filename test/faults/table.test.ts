import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import {
  readFailoverRun,
  readFullRun,
  readSagaRun,
  renderFailoverTable,
  renderFaultTable,
  renderSagaTable,
  withFaultTable,
  withFaultTables,
} from './table.ts'

describe("the README's fault table", () => {
  it('is what npm run faults:table writes: every table from its committed run', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    expect(withFaultTables(readme)).toBe(readme)
  })

  it('is exactly the committed full run, rendered', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    expect(withFaultTable(readme, renderFaultTable(readFullRun()))).toBe(readme)
  })

  it('comes from a full run in which nothing was lost, applied twice or wrong by id, and every fault showed', () => {
    const run = readFullRun()
    expect(run.writes).toBeGreaterThanOrEqual(5000)
    expect(run.rows.length).toBeGreaterThanOrEqual(7)
    for (const row of run.rows) {
      expect(row, row.scenario).toMatchObject({ lost: 0, doubleApplied: 0, wrongById: 0 })
      expect(row.eventsApplied, row.scenario).toBe(row.writesCommitted)
    }
    const consumer = run.rows.find((r) => r.uncommittedAtKill !== undefined)
    expect(consumer?.uncommittedAtKill).toBeGreaterThan(0)
    expect(consumer?.duplicatesSkipped).toBeGreaterThan(0)
  })

  it('shows the committed failover run, rendered', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    expect(withFaultTable(readme, renderFailoverTable(readFailoverRun()), 'failover')).toBe(readme)
  })

  it('comes from a failover run of every scenario in both modes, nothing lost, the task moved', () => {
    const run = readFailoverRun()
    expect(run.writes).toBeGreaterThanOrEqual(5000)
    for (const exactlyOnce of [false, true]) {
      const rows = run.rows.filter((r) => r.exactlyOnce === exactlyOnce)
      expect(rows.map((r) => r.scenario.replace(/ \(.*\)$/, ''))).toEqual([
        'broker SIGKILL, not restarted',
        'active controller SIGKILL, not restarted',
        'worker running the task SIGKILL, not restarted',
      ])
      for (const row of rows) {
        expect(row, row.scenario).toMatchObject({ lost: 0, doubleApplied: 0, wrongById: 0 })
        expect(row.eventsApplied, row.scenario).toBe(row.writesCommitted)
      }
      expect(rows[2]?.taskMovedS).toBeGreaterThan(0)
    }
  })

  it('shows the committed saga run, rendered', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
    expect(withFaultTable(readme, renderSagaTable(readSagaRun()), 'saga')).toBe(readme)
  })

  it('comes from a saga run where every order ended once, both ways, with stock and units right', () => {
    const run = readSagaRun()
    expect(run.writes).toBeGreaterThanOrEqual(5000)
    expect(run.rows.map((r) => r.scenario.replace(/ ×\d+$/, ''))).toEqual([
      'fulfilment SIGKILL',
      'order consumer SIGKILL',
    ])
    for (const row of run.rows) {
      expect(row, row.scenario).toMatchObject({
        stuck: 0,
        sagaWrong: 0,
        wrongById: 0,
        lost: 0,
        doubleApplied: 0,
      })
      expect(row.fulfilled, row.scenario).toBeGreaterThan(0)
      expect(row.cancelled, row.scenario).toBeGreaterThan(0)
      expect(row.longestSettleMs, row.scenario).toBeGreaterThan(1000)
    }
  })
})
