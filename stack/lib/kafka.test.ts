import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { newClusterId } from './kafka.ts'

describe('newClusterId', () => {
  it('never starts with "-", which kafka-storage would read as an option (regression: a CI run failed on one)', () => {
    // 0xf8 → base64url '-' as the first character.
    const draws = [Buffer.alloc(16, 0xf8), randomBytes(16)]
    const id = newClusterId(() => draws.shift() ?? randomBytes(16))
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true)
    expect(id.startsWith('-')).toBe(false)
    expect(Buffer.from(id, 'base64url')).toHaveLength(16)
  })
})
