import { describe, expect, it } from 'vitest'
import { countersOf, reconcileOrders, reconcileUnits } from './outcome.ts'

describe("the soak's reading of a consumer's /metrics", () => {
  it('sums each counter over its labels, and reads 0 for one not there', () => {
    const exposition = [
      '# HELP consumer_refused_transitions_total State changes handlers refused',
      '# TYPE consumer_refused_transitions_total counter',
      'consumer_refused_transitions_total{event_type="ShipmentDispatched",from="fulfilled"} 2',
      'consumer_refused_transitions_total{event_type="ShipmentFailed",from="missing"} 1',
      'consumer_duplicates_skipped_total 5',
      'consumer_retries_total_other 9',
      'consumer_retries_total{reason="db"} 3',
    ].join('\n')
    expect(countersOf(exposition)).toEqual({
      refused: 3,
      duplicates: 5,
      retries: 3,
      fallbacks: 0,
      deadLettered: 0,
    })
  })
})

describe("the soak's reconciling of what was written with what was applied", () => {
  it("counts one book's units applied twice and another's never applied, instead of netting them to nothing", () => {
    const rows = [
      { book: 'a', quantity: 10, sold: 12 },
      { book: 'b', quantity: 10, sold: 8 },
      { book: 'c', quantity: 5, sold: 105 },
    ]
    expect(reconcileUnits(rows, { c: 100 })).toEqual({ short: 2, over: 2 })
    expect(reconcileUnits([{ book: 'a', quantity: 3, sold: 3 }], {})).toEqual({ short: 0, over: 0 })
  })

  it('counts an acknowledged API order missing and another written without an answer, instead of netting them', () => {
    // 100 rows: 59 of the 60 acknowledged by the API found by id, 40 bulk, and one no writer was told of.
    expect(reconcileOrders({ rows: 100, apiAcknowledged: 60, apiFound: 59, bulkAcknowledged: 40 })).toEqual({
      lost: 1,
      unacknowledged: 1,
    })
    expect(reconcileOrders({ rows: 100, apiAcknowledged: 60, apiFound: 60, bulkAcknowledged: 40 })).toEqual({
      lost: 0,
      unacknowledged: 0,
    })
    // A bulk transaction's orders missing.
    expect(reconcileOrders({ rows: 90, apiAcknowledged: 60, apiFound: 60, bulkAcknowledged: 40 })).toEqual({
      lost: 10,
      unacknowledged: 0,
    })
  })
})
