import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { loadStackConfig } from './config.ts'
import { renderProperties } from './jvm.ts'
import { kafkaServerProperties, newClusterId } from './kafka.ts'

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

describe('the broker config', () => {
  it('turns topic auto-creation off, so a topic nobody created on purpose fails in tests as in production', () => {
    const properties = renderProperties(
      kafkaServerProperties(loadStackConfig({ STACK_DIR: '/tmp/s' }), '/tmp/s/d'),
    )
    expect(properties.split('\n')).toContain('auto.create.topics.enable=false')
  })
})
