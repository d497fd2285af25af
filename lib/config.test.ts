import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  ConfigError,
  consumerGroup,
  inboxRetention,
  kafkaBrokers,
  parseEnv,
  postgresUrl,
  topicNamespace,
} from './config.ts'

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

describe('INBOX_RETENTION', () => {
  const schema = z.object({ INBOX_RETENTION: inboxRetention })
  const parse = (value?: string) =>
    parseEnv(schema, value === undefined ? {} : { INBOX_RETENTION: value }, 'test').INBOX_RETENTION

  it('reads a length with one unit, or bare milliseconds, and is seven days when unset', () => {
    expect(parse('14d')).toBe(14 * 86_400_000)
    expect(parse('36h')).toBe(36 * 3_600_000)
    expect(parse('90s')).toBe(90_000)
    expect(parse('15m')).toBe(900_000)
    expect(parse('2500')).toBe(2500)
    expect(parse()).toBe(7 * 86_400_000)
  })

  it('is null when off, and refuses what it would have to guess', () => {
    expect(parse('off')).toBeNull()
    for (const bad of ['1.5d', '1d12h', '-1d', '7 days', ''])
      expect(() => parse(bad), bad).toThrow(/INBOX_RETENTION/)
  })
})
