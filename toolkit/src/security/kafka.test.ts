import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { kafkaClientSecurity, kafkaSecurityFromEnv, kafkaSecuritySchema } from './kafka.ts'

const dir = mkdtempSync(join(tmpdir(), 'kafka-security-'))
const ca = join(dir, 'ca.pem')
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')

describe('Kafka security', () => {
  it('is plaintext without settings, as the local stack runs', () => {
    expect(kafkaClientSecurity(undefined)).toEqual({})
    expect(kafkaClientSecurity(kafkaSecuritySchema.parse({}))).toEqual({})
  })

  it('builds kafkajs ssl and sasl from a CA file and a SCRAM user whose password is in a file', () => {
    const passwordFile = join(dir, 'kafka-password')
    writeFileSync(passwordFile, 'scram-secret\n')
    const security = kafkaSecuritySchema.parse({
      tls: { caFile: ca },
      sasl: { mechanism: 'scram-sha-512', username: 'orders', password: { file: passwordFile } },
    })
    const built = kafkaClientSecurity(security, {})
    expect(built.ssl).toEqual({
      ca: [expect.stringContaining('BEGIN CERTIFICATE')],
      rejectUnauthorized: true,
    })
    expect(built.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'orders', password: 'scram-secret' })
  })

  it('takes TLS with the system CAs when only tls: true is given (Confluent Cloud, MSK)', () => {
    expect(kafkaClientSecurity(kafkaSecuritySchema.parse({ tls: true }), {}).ssl).toBe(true)
  })

  it('refuses a client certificate without its key, and SASL PLAIN without TLS unless asked', () => {
    expect(kafkaSecuritySchema.safeParse({ tls: { caFile: ca, certFile: ca } }).success).toBe(false)
    const plainOverPlaintext = kafkaSecuritySchema.safeParse({
      sasl: { mechanism: 'plain', username: 'u', password: { env: 'P' } },
    })
    expect(plainOverPlaintext.success).toBe(false)
    expect(JSON.stringify(plainOverPlaintext.error?.issues)).toMatch(/sends the password as it is/)
  })

  it('names the file it cannot read, at start, not at the first fetch', () => {
    const security = kafkaSecuritySchema.parse({ tls: { caFile: join(dir, 'nope.pem') } })
    expect(() => kafkaClientSecurity(security, {})).toThrow(
      /Kafka's CA file: cannot read .*nope\.pem \(ENOENT\)/,
    )
  })

  it('reads the same settings from the environment under a prefix, the password by reference', () => {
    const env = {
      OUTBOX_CDC_KAFKA_TLS: 'true',
      OUTBOX_CDC_KAFKA_CA_FILE: ca,
      OUTBOX_CDC_KAFKA_SASL_MECHANISM: 'scram-sha-256',
      OUTBOX_CDC_KAFKA_SASL_USERNAME: 'svc',
      OUTBOX_CDC_KAFKA_SASL_PASSWORD: 'pw-from-env',
    }
    const security = kafkaSecurityFromEnv(env, 'OUTBOX_CDC_')
    expect(security).toEqual({
      tls: { caFile: ca },
      sasl: {
        mechanism: 'scram-sha-256',
        username: 'svc',
        password: { env: 'OUTBOX_CDC_KAFKA_SASL_PASSWORD' },
      },
    })
    expect(kafkaClientSecurity(kafkaSecuritySchema.parse(security), env).sasl).toMatchObject({
      password: 'pw-from-env',
    })
    expect(kafkaSecurityFromEnv({}, '')).toBeUndefined()
    expect(() => kafkaSecurityFromEnv({ KAFKA_SASL_MECHANISM: 'gssapi' }, '')).toThrow(/KAFKA_SASL_MECHANISM/)
  })
})
