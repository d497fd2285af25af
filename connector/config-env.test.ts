import { describe, expect, it } from 'vitest'
import { buildConnectorConfig, loadConnectorConfig } from './config.ts'

const env = {
  CONNECT_URL: 'http://127.0.0.1:18083',
  KAFKA_BROKERS: '127.0.0.1:19092',
  DATABASE_URL: 'postgres://outbox:pw@db.example:5433/shop',
  CONNECTOR_DB_PASSWORD_REF: '${file:/run/secrets/connector.properties:database.password}',
}

describe('the bookstore env mapped to connector options', () => {
  it.each([
    ['no database name', 'postgres://outbox:pw@db.example:5433/'],
    ['a Unix-socket URL (no host)', 'postgres:///shop?host=/var/run/postgresql'],
    ['port 0', 'postgres://outbox:pw@db.example:0/shop'],
    ['a malformed %-escape in the name', 'postgres://outbox:pw@db.example:5433/sh%E0%A4%A'],
  ])(
    'a DATABASE_URL with %s fails as CONFIG_INVALID naming DATABASE_URL, not a toolkit option',
    (_what, url) => {
      expect(() => buildConnectorConfig(loadConnectorConfig({ ...env, DATABASE_URL: url }))).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/DATABASE_URL/) }),
      )
    },
  )
})
