import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { debeziumSslConfig, postgresSslOption, postgresTlsOf } from './postgres.ts'

const dir = mkdtempSync(join(tmpdir(), 'pg-tls-'))
const ca = join(dir, 'root.crt')
writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')
const url = 'postgres://app:pw@db.example.com:5432/shop'

describe('Postgres TLS', () => {
  it("reads libpq's sslmode and sslrootcert from the URL and takes them out of it (postgres.js would send them to the server as settings)", () => {
    const resolved = postgresTlsOf(
      `${url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca)}&application_name=x`,
    )
    expect(resolved.tls).toEqual({ sslmode: 'verify-full', caFile: ca })
    expect(resolved.url).toBe(`${url}?application_name=x`)
    expect(postgresTlsOf(url)).toEqual({ url })
  })

  it('lets the explicit setting win over the URL', () => {
    expect(postgresTlsOf(`${url}?sslmode=require`, { sslmode: 'verify-full' }).tls).toEqual({
      sslmode: 'verify-full',
    })
  })

  it('checks as each mode says: require encrypts only, verify-ca the chain, verify-full the name too', () => {
    expect(postgresSslOption(undefined)).toBe(false)
    expect(postgresSslOption({ sslmode: 'disable' })).toBe(false)
    expect(postgresSslOption({ sslmode: 'require' })).toEqual({ rejectUnauthorized: false })
    const verifyCa = postgresSslOption({ sslmode: 'verify-ca', caFile: ca }) as Record<string, unknown>
    expect(verifyCa.rejectUnauthorized).toBe(true)
    expect(verifyCa.ca).toContain('BEGIN CERTIFICATE')
    expect((verifyCa.checkServerIdentity as () => unknown)()).toBeUndefined()
    const full = postgresSslOption({ sslmode: 'verify-full', caFile: ca }) as Record<string, unknown>
    expect(full.rejectUnauthorized).toBe(true)
    expect(full.checkServerIdentity).toBeUndefined()
    // libpq: require with a root certificate behaves as verify-ca.
    expect(
      (postgresSslOption({ sslmode: 'require', caFile: ca }) as Record<string, unknown>).rejectUnauthorized,
    ).toBe(true)
  })

  it('refuses verify-ca without a CA, and a mode libpq does not have', () => {
    expect(() => postgresTlsOf(`${url}?sslmode=verify-ca`)).toThrow(/verify-ca needs the CA/)
    expect(() => postgresTlsOf(`${url}?sslmode=always`)).toThrow(/sslmode/)
  })

  it('names a CA file it cannot read', () => {
    expect(() => postgresSslOption({ sslmode: 'verify-full', caFile: join(dir, 'gone.crt') })).toThrow(
      /Postgres's CA file \(sslrootcert\): cannot read .*gone\.crt \(ENOENT\)/,
    )
  })

  it("gives Debezium the same mode and CA, in PgJDBC's names", () => {
    expect(debeziumSslConfig({ sslmode: 'verify-full', caFile: '/etc/connect/pg-ca.pem' })).toEqual({
      'database.sslmode': 'verify-full',
      'database.sslrootcert': '/etc/connect/pg-ca.pem',
    })
    expect(debeziumSslConfig(undefined)).toEqual({})
  })
})
