import { describe, expect, it } from 'vitest'
import { selectTopics } from './topic-watch.ts'

describe('the topics a consumer wants', () => {
  const listed = ['ns.book', 'ns.order', 'ns-dlq', 'nsx.book', 'other.ns.book', '__consumer_offsets']

  it('are every <namespace>.* topic for a pattern, never the dead-letter topic or a longer namespace', () => {
    expect(selectTopics({ namespace: 'ns' }, listed)).toEqual({
      wanted: ['ns.book', 'ns.order'],
      waitingFor: [],
    })
  })

  it('never read a nested namespace under theirs, nor its dead-letter topic', () => {
    const nested = ['ns.book', 'ns.v2.book', 'ns.v2-dlq', 'ns.v2.order']
    expect(selectTopics({ namespace: 'ns' }, nested)).toEqual({ wanted: ['ns.book'], waitingFor: [] })
    expect(selectTopics({ namespace: 'ns' }, ['ns.v2.book', 'ns.v2-dlq'])).toEqual({
      wanted: [],
      waitingFor: ['ns.*'],
    })
  })

  it('wait for the pattern while nothing matches it, as before connector:register', () => {
    expect(selectTopics({ namespace: 'ns' }, ['ns-dlq', 'nsx.book'])).toEqual({
      wanted: [],
      waitingFor: ['ns.*'],
    })
  })

  it('are the named topics that exist, and wait for those that do not yet', () => {
    expect(selectTopics({ namespace: 'ns', topics: ['ns.order', 'ns.shipment'] }, listed)).toEqual({
      wanted: ['ns.order'],
      waitingFor: ['ns.shipment'],
    })
  })
})
