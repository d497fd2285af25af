import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ConfigError, consumerGroup, kafkaBrokers, parseEnv, postgresUrl, topicNamespace } from './config.ts'

describe('shared config pieces', () => {
  const schema = z.object({
    DATABASE_URL: postgresUrl,
    KAFKA_BROKERS: kafkaBrokers,
    TOPIC_NAMESPACE: topicNamespace,
    CONSUMER_GROUP: consumerGroup,
  })

  it('accepts both Postgres URL spellings and fills the namespace and group defaults', () => {
    for (const url of ['postgres://u:p@h:5432/db', 'postgresql://u@h/db']) {
      expect(parseEnv(schema, { DATABASE_URL: url, KAFKA_BROKERS: 'a:1,b:2' }, 'test')).toEqual({
        DATABASE_URL: url,
        KAFKA_BROKERS: 'a:1,b:2',
        TOPIC_NAMESPACE: 'outbox.events',
        CONSUMER_GROUP: 'outbox-cdc-consumer',
      })
    }
  })

  it('lists every refused variable at once, by name', () => {
    const bad = {
      DATABASE_URL: 'mysql://h/db',
      KAFKA_BROKERS: 'a:1, b:2',
      TOPIC_NAMESPACE: 'has space',
      CONSUMER_GROUP: 'x/y',
    }
    expect(() => parseEnv(schema, bad, 'test')).toThrow(ConfigError)
    expect(() => parseEnv(schema, bad, 'test')).toThrow(
      /DATABASE_URL:[\s\S]*KAFKA_BROKERS: must be host:port[\s\S]*TOPIC_NAMESPACE:[\s\S]*CONSUMER_GROUP:/,
    )
  })
})
