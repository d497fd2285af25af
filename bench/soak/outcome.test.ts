import { describe, expect, it } from 'vitest'
import { countersOf } from './outcome.ts'

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
