import { describe, expect, it } from 'vitest'
import { billingCliConfig } from '../../test/cli-config.ts'
import { type CliConfigInput, parseCliConfig, withEnvOverrides } from './config.ts'

const config: CliConfigInput = billingCliConfig

describe('the CLI config for secured clusters', () => {
  it('takes TLS and SASL for Kafka and basic auth and TLS for Connect, passwords by reference only', () => {
    const parsed = parseCliConfig({
      ...config,
      kafka: {
        brokers: ['b-1.msk:9096'],
        tls: true,
        sasl: { mechanism: 'scram-sha-512', username: 'billing', password: { env: 'KAFKA_PASSWORD' } },
      },
      connect: {
        url: 'https://connect:8083',
        auth: { username: 'ops', password: { file: '/run/secrets/connect' } },
      },
    })
    expect(parsed.kafka.sasl?.password).toEqual({ env: 'KAFKA_PASSWORD' })
    expect(parsed.connect.auth?.username).toBe('ops')
    expect(() =>
      parseCliConfig({
        ...config,
        kafka: {
          brokers: ['b:9096'],
          sasl: { mechanism: 'scram-sha-256', username: 'u', password: 'hunter22' },
        },
      }),
    ).toThrow(/kafka\.sasl\.password: a secret must say where it is/)
  })

  it('puts one Postgres TLS setting on both URLs and on the connector, which may name its own CA path', () => {
    const parsed = parseCliConfig({
      ...config,
      postgres: {
        url: 'postgres://app:pw@db:5432/billing',
        adminUrl: 'postgres://admin:pw@db:5432/postgres',
        tls: { sslmode: 'verify-full', caFile: '/etc/ssl/pg-ca.pem' },
      },
    })
    expect(parsed.postgres.url).toBe(
      'postgres://app:pw@db:5432/billing?sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Fpg-ca.pem',
    )
    expect(parsed.postgres.adminUrl).toContain('sslmode=verify-full')
    expect(parsed.connector.database.tls).toEqual({ sslmode: 'verify-full', caFile: '/etc/ssl/pg-ca.pem' })
    const own = parseCliConfig({
      ...config,
      postgres: { url: 'postgres://app:pw@db:5432/billing?sslmode=require' },
      connector: {
        ...config.connector,
        database: { ...config.connector.database, tls: { sslmode: 'verify-ca', caFile: '/connect/ca.pem' } },
      },
    })
    expect(own.connector.database.tls).toEqual({ sslmode: 'verify-ca', caFile: '/connect/ca.pem' })
  })

  it('reads the secured settings from OUTBOX_CDC_* variables, over the file', () => {
    const merged = withEnvOverrides(config as Record<string, unknown>, {
      OUTBOX_CDC_KAFKA_CA_FILE: '/ca.pem',
      OUTBOX_CDC_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      OUTBOX_CDC_KAFKA_SASL_USERNAME: 'billing',
      OUTBOX_CDC_KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka',
      OUTBOX_CDC_CONNECT_USERNAME: 'ops',
      OUTBOX_CDC_CONNECT_PASSWORD_FILE: '/run/secrets/connect',
    })
    const parsed = parseCliConfig(merged)
    expect(parsed.kafka).toMatchObject({
      brokers: ['kafka:9092'],
      tls: { caFile: '/ca.pem' },
      sasl: { mechanism: 'scram-sha-512', username: 'billing', password: { file: '/run/secrets/kafka' } },
    })
    expect(parsed.connect.auth).toEqual({ username: 'ops', password: { file: '/run/secrets/connect' } })
  })
})
