import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { StackError } from './errors.ts'

/** Where a folder's certificates are: PEM files, keys mode 0600. */
export interface Certificates {
  dir: string
  /** The stack's own CA: clients trust it, and only it. */
  caFile: string
  /** The servers' certificate (localhost, 127.0.0.1, ::1) and key: Kafka, Connect, Postgres. */
  serverCertFile: string
  serverKeyFile: string
  /** Key and certificate together, as Kafka's PEM keystore wants them. */
  serverKeystoreFile: string
  /** A client certificate signed by the CA, for mutual TLS. */
  clientCertFile: string
  clientKeyFile: string
}

export const certificatesIn = (dir: string): Certificates => ({
  dir,
  caFile: join(dir, 'ca.pem'),
  serverCertFile: join(dir, 'server.pem'),
  serverKeyFile: join(dir, 'server.key'),
  serverKeystoreFile: join(dir, 'server-keystore.pem'),
  clientCertFile: join(dir, 'client.pem'),
  clientKeyFile: join(dir, 'client.key'),
})

function openssl(args: string[], cwd: string): void {
  const run = spawnSync('openssl', args, { cwd, encoding: 'utf8' })
  if (run.error || run.status !== 0)
    throw new StackError(
      'START_FAILED',
      `openssl ${args[0]} failed: ${run.error?.message ?? run.stderr.trim()}. The secured stack makes its certificates with openssl: install it (apt-get install openssl).`,
    )
}

/**
 * A CA and the certificates the secured stack needs, made once with openssl (kept on later
 * starts, so clients that trust the CA keep working). Nothing here is for production: the CA's
 * key sits beside it, unencrypted, so that a restart needs no passphrase.
 */
export function ensureCertificates(dir: string, days = 825): Certificates {
  const certs = certificatesIn(dir)
  if (existsSync(certs.clientCertFile) && existsSync(certs.serverKeystoreFile)) return certs
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const key = (file: string) =>
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], dir)
  key('ca.key')
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=outbox-cdc local stack CA',
      '-days',
      String(days),
      '-out',
      'ca.pem',
    ],
    dir,
  )
  const sign = (name: string, subject: string, extensions: string) => {
    key(`${name}.key`)
    openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], dir)
    writeFileSync(join(dir, `${name}.ext`), extensions)
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        String(days),
        '-extfile',
        `${name}.ext`,
        '-out',
        `${name}.pem`,
      ],
      dir,
    )
  }
  sign(
    'server',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n',
  )
  sign('client', '/CN=outbox-cdc client', 'extendedKeyUsage=clientAuth\n')
  // Kafka reads a PEM keystore as one file, key first; its key must be PKCS#8, as genpkey writes.
  writeFileSync(
    certs.serverKeystoreFile,
    readFileSync(certs.serverKeyFile, 'utf8') + readFileSync(certs.serverCertFile, 'utf8'),
  )
  for (const file of ['ca.key', 'server.key', 'client.key', 'server-keystore.pem'])
    chmodSync(join(dir, file), 0o600)
  return certs
}
