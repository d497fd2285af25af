import { describe, expect, it } from 'vitest'
import { parseReplayFrom } from './replay.ts'

describe('consumer:replay --from', () => {
  it('accepts beginning, an ISO timestamp or an offset', () => {
    expect(parseReplayFrom('beginning')).toEqual({ kind: 'beginning' })
    expect(parseReplayFrom('42')).toEqual({ kind: 'offset', offset: 42 })
    expect(parseReplayFrom('2026-11-23T10:00:00Z')).toEqual({
      kind: 'timestamp',
      at: new Date('2026-11-23T10:00:00Z'),
    })
  })

  it.each(['', 'yesterday', '-1', '2026-13-45T99:00:00Z', undefined])(
    'refuses %j with a message saying what it takes',
    (value) => {
      expect(() => parseReplayFrom(value)).toThrow(
        /--from must be "beginning", an ISO timestamp .* or an offset/,
      )
    },
  )
})
