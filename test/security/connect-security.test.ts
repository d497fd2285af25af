import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConnectSecurityInput, createConnectClient } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureCertificates } from '../../stack/lib/certs.ts'

const dir = mkdtempSync(join(tmpdir(), 'connect-security-'))
const certs = ensureCertificates(join(dir, 'certs'))
const passwordFile = join(dir, 'connect-password')
writeFileSync(passwordFile, 'c0nnect-s3cret\n')
const expected = `Basic ${Buffer.from('operator:c0nnect-s3cret').toString('base64')}`

/** Connect's plugin list, behind basic auth as the basic-auth extension answers. */
function answer(request: IncomingMessage, response: ServerResponse) {
  if (request.headers.authorization !== expected) {
    response.writeHead(401, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ error_code: 401, message: 'User cannot access the resource.' }))
    return
  }
  response.writeHead(200, { 'content-type': 'application/json' })
  response.end(JSON.stringify([{ class: 'x', type: 'source', version: '1' }]))
}

const servers: { close(): void }[] = []
async function listen(server: ReturnType<typeof createHttpServer>): Promise<number> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}
let plain: string
let tls: string
let mutual: string
beforeAll(async () => {
  plain = `http://127.0.0.1:${await listen(createHttpServer(answer))}`
  const serverTls = { cert: readFileSync(certs.serverCertFile), key: readFileSync(certs.serverKeyFile) }
  tls = `https://127.0.0.1:${await listen(createHttpsServer(serverTls, answer))}`
  const mutualServer = createHttpsServer(
    { ...serverTls, ca: readFileSync(certs.caFile), requestCert: true, rejectUnauthorized: true },
    answer,
  )
  mutual = `https://localhost:${await listen(mutualServer)}`
})
afterAll(() => {
  for (const server of servers) server.close()
})

const auth = { username: 'operator', password: { file: passwordFile } }
const client = (url: string, security?: ConnectSecurityInput) =>
  createConnectClient(url, 2000, { settleWaitMs: 0, security })

describe("Connect's REST API behind basic auth and TLS", () => {
  it('sends basic auth from a password file on every call', async () => {
    await expect(client(plain, { auth }).plugins()).resolves.toHaveLength(1)
  })

  it('takes a user and password written into the URL as basic auth, and never prints them', async () => {
    const withUserinfo = plain.replace('http://', 'http://operator:c0nnect-s3cret@')
    await expect(client(withUserinfo).plugins()).resolves.toHaveLength(1)
    const wrong = plain.replace('http://', 'http://operator:not-it@')
    const error = await client(wrong)
      .plugins()
      .catch((e: Error) => e)
    expect(String(error)).not.toContain('not-it')
  })

  it('says the credentials were refused, naming the user and not the password, without retrying', async () => {
    const wrongFile = join(dir, 'wrong')
    writeFileSync(wrongFile, 'wr0ng-password')
    const error = (await client(plain, { auth: { username: 'operator', password: { file: wrongFile } } })
      .plugins()
      .catch((e) => e)) as Error & { status: number; retryable: boolean }
    expect(error.message).toMatch(/refused the credentials of user operator \(401\)/)
    expect(error.status).toBe(401)
    expect(error.retryable).toBe(false)
    expect(`${error.message}${String(error.cause ?? '')}`).not.toContain('wr0ng-password')
    const none = (await client(plain)
      .plugins()
      .catch((e) => e)) as Error
    expect(none.message).toMatch(/asks for credentials \(401\).*connect\.auth/)
  })

  it('trusts the CA it is given, and says TLS failed (not "not reachable") without it', async () => {
    await expect(client(tls, { auth, tls: { caFile: certs.caFile } }).plugins()).resolves.toHaveLength(1)
    const error = (await client(tls, { auth })
      .plugins()
      .catch((e) => e)) as Error
    expect(error.message).toMatch(
      /TLS with Kafka Connect at https:\/\/127\.0\.0\.1:\d+ failed: .*certificate/,
    )
    expect(error.message).toMatch(/connect\.tls\.caFile/)
  })

  it('presents a client certificate where Connect asks for one (mutual TLS)', async () => {
    const withCert = {
      auth,
      tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
    }
    await expect(client(mutual, withCert).plugins()).resolves.toHaveLength(1)
    const error = (await client(mutual, { auth, tls: { caFile: certs.caFile } })
      .plugins()
      .catch((e) => e)) as Error
    expect(error.message).toMatch(/Kafka Connect at https:\/\/localhost:\d+/)
  })

  it('refuses TLS settings for an http:// URL, which would be sent in the clear', () => {
    expect(() => client(plain, { tls: { caFile: certs.caFile } })).toThrow(/https:\/\//)
  })
})
