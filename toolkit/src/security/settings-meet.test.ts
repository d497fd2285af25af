import { describe, expect, it } from 'vitest'
import { billingCliConfig } from '../../test/cli-config.ts'
import { type CliConfigInput, parseCliConfig, withEnvOverrides } from '../cli/config.ts'
import { type ConnectClient, ConnectError } from '../connector/connect-client.ts'
import { redactText } from '../redact.ts'
import { connectorOwningSlot } from '../slots/slots.ts'
import { explainConnectionError } from './explain.ts'
import { connectPostgres, postgresTlsOf, withTlsParameters } from './postgres.ts'
import { readSecret } from './secret.ts'

const base: CliConfigInput = billingCliConfig

describe('secured clusters, where settings meet: the CLI config, Postgres and Kafka TLS, slots, redaction', () => {
  it("keeps the admin URL's own, stricter TLS instead of the app URL's", () => {
    const parsed = parseCliConfig({
      ...base,
      postgres: {
        url: 'postgres://app:pw@db/billing?sslmode=require',
        adminUrl: 'postgres://admin:pw@db/postgres?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem',
      },
    })
    expect(parsed.postgres.adminUrl).toContain('sslmode=verify-full')
    expect(parsed.postgres.adminUrl).toContain('sslrootcert=%2Fetc%2Fca.pem')
  })

  it("honours postgres.js's own ?ssl= in a URL instead of connecting in plaintext", () => {
    expect(postgresTlsOf('postgres://u:p@h/db?ssl=require').tls?.sslmode).toBe('require')
    expect(connectPostgres('postgres://u:p@h/db?ssl=require').options.ssl).not.toBe(false)
  })

  it('leaves an error that already says what failed as it is (a Connect TLS failure is not Postgres)', () => {
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
    const connect = new ConnectError('TLS with Kafka Connect at https://c:8083 failed', undefined, false, {
      cause: tls,
    })
    expect(explainConnectionError(connect, { brokers: ['k:9092'], kafkaTls: true })).toBe(connect)
  })

  it("takes SASL PLAIN from the environment with the file's TLS, and KAFKA_TLS=false turns the file's off", () => {
    const withTls = { ...base, kafka: { brokers: ['k:9092'], tls: true } }
    const merged = withEnvOverrides(withTls as Record<string, unknown>, {
      OUTBOX_CDC_KAFKA_SASL_MECHANISM: 'plain',
      OUTBOX_CDC_KAFKA_SASL_USERNAME: 'key',
      OUTBOX_CDC_KAFKA_SASL_PASSWORD_FILE: '/run/secrets/kafka',
    })
    expect(parseCliConfig(merged).kafka).toMatchObject({ tls: true, sasl: { mechanism: 'plain' } })
    const off = withEnvOverrides(withTls as Record<string, unknown>, { OUTBOX_CDC_KAFKA_TLS: 'false' })
    expect(parseCliConfig(off).kafka.tls).toBeUndefined()
  })

  it("finds a slot's connector by its database too: two connectors on one Connect may share a slot name", async () => {
    const configs: Record<string, Record<string, string>> = {
      billing: { 'slot.name': 'outbox_slot', 'database.dbname': 'billing' },
      orders: { 'slot.name': 'outbox_slot', 'database.dbname': 'orders' },
    }
    const connect = {
      list: async () => Object.keys(configs),
      getConfig: async (name: string) => configs[name],
    } as unknown as ConnectClient
    expect(await connectorOwningSlot(connect, 'outbox_slot', 'orders')).toBe('orders')
  })

  it("reads libpq's multi-host URLs, sslrootcert=system and sslmode=allow", () => {
    const multi = 'postgres://u:p@h1:5432,h2:5433/db?sslmode=verify-full'
    expect(postgresTlsOf(multi)).toEqual({
      url: 'postgres://u:p@h1:5432,h2:5433/db',
      tls: { sslmode: 'verify-full' },
    })
    expect(withTlsParameters('postgres://u:p@h1:5432,h2:5433/db', { sslmode: 'require' })).toBe(
      'postgres://u:p@h1:5432,h2:5433/db?sslmode=require',
    )
    expect(postgresTlsOf('postgres://u:p@h/db?sslrootcert=system').tls).toEqual({ sslmode: 'verify-full' })
    expect(postgresTlsOf('postgres://u:p@h/db?sslmode=allow').tls?.sslmode).toBe('prefer')
  })

  it('does not garble ordinary output by masking a short secret such as "true"', () => {
    readSecret({ env: 'SHORT' }, 'a password', { SHORT: 'true' })
    expect(redactText('{"ok":true}')).toBe('{"ok":true}')
  })
})
