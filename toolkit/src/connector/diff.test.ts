import { describe, expect, it } from 'vitest'
import { diffConnectorConfig, formatChange } from './diff.ts'

describe('connector:diff', () => {
  it('lists added, removed and changed keys in order, and nothing when they agree', () => {
    const running = { 'poll.interval.ms': '500', 'slot.name': 'outbox_slot', 'snapshot.mode': 'initial' }
    const desired = { 'poll.interval.ms': '100', 'slot.name': 'outbox_slot', 'tombstones.on.delete': 'false' }
    expect(diffConnectorConfig(desired, running).map(formatChange)).toEqual([
      '~ poll.interval.ms: 500 → 100',
      '- snapshot.mode = initial',
      '+ tombstones.on.delete = false',
    ])
    expect(diffConnectorConfig(desired, { ...desired })).toEqual([])
  })

  it('masks literal secrets on both sides but shows config-provider references', () => {
    const changes = diffConnectorConfig(
      { 'database.password': '${file:/s/connector.properties:database.password}' },
      { 'database.password': 'hunter2' },
    )
    expect(changes.map(formatChange)).toEqual([
      '~ database.password: *** → ${file:/s/connector.properties:database.password}',
    ])
    expect(JSON.stringify(changes)).not.toContain('hunter2')
  })
})
