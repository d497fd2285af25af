import { deadLetterTopicSpec } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { loadConnectorConfig } from '../connector/config.ts'
import { loadConsumerConfig } from '../consumer/config.ts'
import { deadLetterTopicSettingsOf } from './dead-letter-topic.ts'

const consumerEnv = {
  DATABASE_URL: 'postgres://u:p@db:5432/shop',
  KAFKA_BROKERS: 'k:9092',
  CONNECT_URL: 'http://connect:8083',
}
const connectorEnv = {
  ...consumerEnv,
  CONNECT_URL: 'http://connect:8083',
  CONNECTOR_DB_PASSWORD_REF: '${env:OUTBOX_CONNECT_DB_PASSWORD}',
}

describe('the dead-letter topic settings', () => {
  it('default to three partitions and fourteen days, the same for the consumer and connector:register', () => {
    const fourteenDaysMs = 14 * 24 * 60 * 60 * 1000
    for (const settings of [
      deadLetterTopicSettingsOf(loadConsumerConfig(consumerEnv)),
      deadLetterTopicSettingsOf(loadConnectorConfig(connectorEnv)),
    ])
      expect(settings).toEqual({ partitions: 3, retentionMs: fourteenDaysMs })
  })

  it('take -1 to keep dead letters for ever, and refuse a retention that would drop them at once', () => {
    const forever = loadConsumerConfig({ ...consumerEnv, DLQ_RETENTION_MS: '-1', DLQ_PARTITIONS: '6' })
    expect(deadLetterTopicSpec('outbox.events', deadLetterTopicSettingsOf(forever))).toEqual({
      topic: 'outbox.events-dlq',
      partitions: 6,
      configs: { 'retention.ms': '-1' },
    })
    for (const bad of ['0', '1000', '-2', '1.5'])
      expect(() => loadConsumerConfig({ ...consumerEnv, DLQ_RETENTION_MS: bad })).toThrow(/DLQ_RETENTION_MS/)
    expect(() => loadConnectorConfig({ ...connectorEnv, DLQ_PARTITIONS: '0' })).toThrow(/DLQ_PARTITIONS/)
  })
})
