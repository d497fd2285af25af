import type postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { minuteLatency } from './latency.ts'

const commits = [{ txid: '1001', eventIds: [crypto.randomUUID(), crypto.randomUUID()] }]
const ids = commits.flatMap((c) => c.eventIds)

/**
 * A database where each inbox holds a minute's rows only for part of the time: `present(inbox, ms)`
 * says whether its rows can be read `ms` after the read began (not yet applied, or pruned since).
 */
function databaseWhere(present: (inbox: string, ms: number) => boolean): postgres.Sql {
  const began = performance.now()
  const sql = (first: TemplateStringsArray | string, ...values: unknown[]) => {
    if (typeof first === 'string') return { inbox: first }
    if (first.join('?').includes('unnest')) return Promise.resolve([{ txid: '1001', ms: 1_000 }])
    const { inbox } = values[0] as { inbox: string }
    const wanted = values[1] as string[]
    const at = performance.now() - began
    return Promise.resolve(present(inbox, at) ? wanted.map((id) => ({ id, ms: 1_050 })) : [])
  }
  return sql as unknown as postgres.Sql
}

describe("the soak's read of a minute's commit → applied", () => {
  it("reads every inbox from the first look: one that lags does not leave another's rows to be pruned unread", async () => {
    // The order service's consumer applies the minute only after 2 s; fulfilment had applied it
    // at once, and its retention prunes the rows after 1.5 s.
    const sql = databaseWhere((inbox, ms) => (inbox === 'consumed_events' ? ms >= 2_000 : ms < 1_500))
    const m = await minuteLatency(sql, ['consumed_events', 'fulfilment_inbox'], 7, commits, 10_000)
    expect(m.missing).toEqual({ consumed_events: 0, fulfilment_inbox: 0 })
    expect(m.ms.fulfilment_inbox).toMatchObject({ count: ids.length, p50: 50 })
    expect(m.ms.consumed_events).toMatchObject({ count: ids.length, p50: 50 })
  })

  it('counts as missing what no look found before the timeout', async () => {
    const sql = databaseWhere((inbox) => inbox === 'consumed_events')
    const m = await minuteLatency(sql, ['consumed_events', 'fulfilment_inbox'], 7, commits, 1_500)
    expect(m.missing).toEqual({ consumed_events: 0, fulfilment_inbox: ids.length })
  })
})
