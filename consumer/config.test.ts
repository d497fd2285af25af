import { describe, expect, it } from 'vitest'
import { loadConsumerConfig } from './config.ts'

const base = { DATABASE_URL: 'postgres://u@h/db', KAFKA_BROKERS: 'k:9092' }

describe("the consumer's inbox pruning settings", () => {
  it('prune by default, reading Connect’s position at CONNECT_URL', () => {
    const config = loadConsumerConfig({ ...base, CONNECT_URL: 'http://connect:8083' })
    expect(config).toMatchObject({
      INBOX_RETENTION: 7 * 86_400_000,
      CONNECT_URL: 'http://connect:8083',
      CONNECTOR_NAME: 'outbox-connector',
    })
  })

  it('refuse to prune without CONNECT_URL, naming both ways out', () => {
    expect(() => loadConsumerConfig(base)).toThrow(
      /CONNECT_URL: is needed to prune the inbox.*INBOX_RETENTION=off/,
    )
    expect(loadConsumerConfig({ ...base, INBOX_RETENTION: 'off' }).INBOX_RETENTION).toBeNull()
  })
})
