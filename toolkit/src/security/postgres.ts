import type { ConnectionOptions } from 'node:tls'
import postgres from 'postgres'
import { z } from 'zod'
import { OptionsError } from '../errors.ts'
import { readPemFile } from './secret.ts'

export const sslModes = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const
export type SslMode = (typeof sslModes)[number]

const file = z.string().min(1)

/**
 * TLS to Postgres in libpq's terms, so a managed database's instructions apply as written:
 * `require` encrypts without checking the server (unless a CA is given: then as `verify-ca`, as
 * libpq does), `verify-ca` checks the certificate's CA, `verify-full` its host name too.
 */
export const postgresTlsSchema = z
  .strictObject({
    sslmode: z.enum(sslModes),
    /** The CA that signed the server's certificate (libpq's sslrootcert); the system's otherwise. */
    caFile: file.optional(),
    certFile: file.optional(),
    keyFile: file.optional(),
  })
  .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
    message: 'a client certificate needs its key: give certFile and keyFile together',
  })
  .refine((t) => t.sslmode !== 'verify-ca' || t.caFile !== undefined, {
    message: 'verify-ca needs the CA to check against: give caFile',
  })

export type PostgresTls = z.infer<typeof postgresTlsSchema>

/** libpq's URL parameters that this reads (and postgres.js would send to the server as settings). */
const urlParameters = {
  sslmode: 'sslmode',
  sslrootcert: 'caFile',
  sslcert: 'certFile',
  sslkey: 'keyFile',
} as const

/** postgres.js's own `?ssl=` in libpq's terms: `true` checks the server as verify-full does. */
const sslParameter: Record<string, SslMode> = {
  disable: 'disable',
  false: 'disable',
  true: 'verify-full',
  prefer: 'prefer',
  allow: 'prefer',
  require: 'require',
  'verify-full': 'verify-full',
}

/** The URL before its query, and the query: split by hand, since `new URL` refuses libpq's multi-host URLs. */
function splitQuery(url: string): { head: string; params: URLSearchParams } {
  const at = url.indexOf('?')
  return at < 0
    ? { head: url, params: new URLSearchParams() }
    : { head: url.slice(0, at), params: new URLSearchParams(url.slice(at + 1)) }
}

const joinQuery = (head: string, params: URLSearchParams) => {
  const query = params.toString()
  return query ? `${head}?${query}` : head
}

/**
 * The TLS settings of `url` (libpq's `?sslmode=…&sslrootcert=…`, or postgres.js's `?ssl=`) with
 * `tls` over them, and the URL without those parameters. undefined when neither says anything.
 */
export function postgresTlsOf(url: string, tls?: PostgresTls): { url: string; tls?: PostgresTls } {
  const { head, params } = splitQuery(url)
  const fromUrl: Record<string, string> = {}
  for (const [parameter, key] of Object.entries(urlParameters)) {
    const value = params.get(parameter)
    if (value !== null) fromUrl[key] = value
    params.delete(parameter)
  }
  const ssl = params.get('ssl')
  params.delete('ssl')
  if (ssl !== null && fromUrl.sslmode === undefined) fromUrl.sslmode = sslParameter[ssl] ?? ssl
  if (fromUrl.sslmode === 'allow') fromUrl.sslmode = 'prefer'
  // libpq: sslrootcert=system trusts the system's CAs and checks as verify-full by default.
  if (fromUrl.caFile === 'system') {
    delete fromUrl.caFile
    fromUrl.sslmode ??= 'verify-full'
  }
  const found = Object.keys(fromUrl).length > 0 || ssl !== null
  const clean = found ? joinQuery(head, params) : url
  if (tls) return { url: clean, tls }
  if (!found) return { url }
  const checked = postgresTlsSchema.safeParse({ sslmode: 'prefer', ...fromUrl })
  if (!checked.success)
    throw new OptionsError(
      `the database URL's TLS parameters: ${checked.error.issues.map((i) => `${i.path.join('.') || 'sslmode'}: ${i.message}`).join('; ')}`,
    )
  return { url: clean, tls: checked.data }
}

/** `url` with `tls` written as libpq's parameters (what postgresTlsOf reads back). */
export function withTlsParameters(url: string, tls: PostgresTls): string {
  const { head, params } = splitQuery(postgresTlsOf(url).url)
  for (const [parameter, key] of Object.entries(urlParameters)) {
    const value = tls[key]
    if (value !== undefined) params.set(parameter, value)
  }
  return joinQuery(head, params)
}

/** postgres.js's `ssl` option for `tls`; files are read now, so a wrong path fails at start. */
export function postgresSslOption(tls: PostgresTls | undefined): false | 'prefer' | ConnectionOptions {
  if (!tls || tls.sslmode === 'disable') return false
  const files: ConnectionOptions = {
    ...(tls.caFile ? { ca: readPemFile(tls.caFile, "Postgres's CA file (sslrootcert)") } : {}),
    ...(tls.certFile ? { cert: readPemFile(tls.certFile, "Postgres's client certificate (sslcert)") } : {}),
    ...(tls.keyFile ? { key: readPemFile(tls.keyFile, "Postgres's client key (sslkey)") } : {}),
  }
  if (tls.sslmode === 'prefer' && !tls.caFile) return 'prefer'
  const mode = tls.sslmode === 'require' && tls.caFile ? 'verify-ca' : tls.sslmode
  if (mode === 'require' || mode === 'prefer') return { ...files, rejectUnauthorized: false }
  // verify-ca: the chain must lead to the CA, whatever name the certificate carries.
  if (mode === 'verify-ca')
    return { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined }
  return { ...files, rejectUnauthorized: true }
}

/**
 * A postgres.js client for `url`, its TLS from the URL's libpq parameters or `tls`. Every client
 * the toolkit opens goes through here, so one setting reaches them all.
 */
export function connectPostgres(
  url: string,
  options: postgres.Options<Record<string, postgres.PostgresType>> = {},
  tls?: PostgresTls,
): postgres.Sql {
  const resolved = postgresTlsOf(url, tls)
  // Without a TLS setting, postgres.js decides as it would (its PGSSL variable, say).
  return postgres(resolved.url, resolved.tls ? { ...options, ssl: postgresSslOption(resolved.tls) } : options)
}

/**
 * Debezium's settings for the same TLS (its PgJDBC takes libpq's names). The CA path is read by
 * Connect's worker, so it is the file's path on that machine.
 */
export function debeziumSslConfig(tls: PostgresTls | undefined): Record<string, string> {
  if (!tls) return {}
  return {
    'database.sslmode': tls.sslmode,
    ...(tls.caFile ? { 'database.sslrootcert': tls.caFile } : {}),
    ...(tls.certFile ? { 'database.sslcert': tls.certFile } : {}),
    ...(tls.keyFile ? { 'database.sslkey': tls.keyFile } : {}),
  }
}
