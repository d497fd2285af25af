import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ensureCertificates } from './certs.ts'

describe('the secured stack certificates', () => {
  it('makes a CA and a server certificate for localhost and 127.0.0.1 signed by it, keys private, once', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'certs-')), 'certs')
    const certs = ensureCertificates(dir)
    const ca = new X509Certificate(readFileSync(certs.caFile))
    const server = new X509Certificate(readFileSync(certs.serverCertFile))
    const client = new X509Certificate(readFileSync(certs.clientCertFile))
    expect(server.verify(ca.publicKey)).toBe(true)
    expect(client.verify(ca.publicKey)).toBe(true)
    expect(server.checkHost('localhost')).toBe('localhost')
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(statSync(certs.serverKeyFile).mode & 0o077).toBe(0)
    expect(readFileSync(certs.serverKeystoreFile, 'utf8')).toMatch(/PRIVATE KEY[\s\S]*CERTIFICATE/)
    // A second start keeps them: clients that trust the CA keep working.
    const again = ensureCertificates(dir)
    expect(readFileSync(again.caFile, 'utf8')).toBe(readFileSync(certs.caFile, 'utf8'))
  })
})
