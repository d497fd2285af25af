import { Agent, type Dispatcher } from 'undici'
import { z } from 'zod'
import { OptionsError } from '../errors.ts'
import { maskSecret, withoutUserinfo } from '../redact.ts'
import { readPemFile, readSecret, secretRefSchema } from './secret.ts'

const file = z.string().min(1)

/** Basic auth (Kafka's connect-basic-auth-extension, a proxy) and TLS for Connect's REST API. */
export const connectSecuritySchema = z.strictObject({
  auth: z.strictObject({ username: z.string().min(1), password: secretRefSchema }).optional(),
  tls: z
    .strictObject({ caFile: file.optional(), certFile: file.optional(), keyFile: file.optional() })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
      message: 'a client certificate needs its key: give certFile and keyFile together',
    })
    .optional(),
})

export type ConnectSecurityInput = z.input<typeof connectSecuritySchema>
export type ConnectSecurity = z.output<typeof connectSecuritySchema>

/** How every request to one Connect cluster is sent: where, as whom, over which connection. */
export interface ConnectTransport {
  /** The URL without `user:password@`: what requests go to and errors name. */
  base: string
  headers: Record<string, string>
  /** Set when TLS needs a CA or a client certificate of its own. */
  dispatcher?: Dispatcher
  /** Who the credentials are for, for an error that says they were refused. */
  username?: string
}

/**
 * Reads the secrets and files once, when the client is made. A user and password written into
 * the URL are basic auth too (the URL is then printed without them); `auth` wins over them.
 */
export function connectTransport(
  baseUrl: string,
  security: ConnectSecurity | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ConnectTransport {
  const url = new URL(baseUrl)
  if (security?.tls && url.protocol !== 'https:')
    throw new OptionsError(
      `Connect TLS settings are given but ${withoutUserinfo(baseUrl)} is not an https:// URL: requests would go in the clear`,
    )
  let credentials: { username: string; password: string } | undefined
  if (security?.auth) {
    const { username, password } = security.auth
    credentials = { username, password: readSecret(password, `the Connect password (user ${username})`, env) }
  } else if (url.username || url.password) {
    credentials = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
    maskSecret(credentials.password)
  }
  const headers: Record<string, string> = {}
  if (credentials) {
    const token = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')
    maskSecret(token)
    headers.authorization = `Basic ${token}`
  }
  const tls = security?.tls
  const dispatcher =
    tls && (tls.caFile || tls.certFile)
      ? new Agent({
          connect: {
            ...(tls.caFile ? { ca: readPemFile(tls.caFile, "Connect's CA file") } : {}),
            ...(tls.certFile ? { cert: readPemFile(tls.certFile, "Connect's client certificate") } : {}),
            ...(tls.keyFile ? { key: readPemFile(tls.keyFile, "Connect's client key") } : {}),
          },
        })
      : undefined
  return {
    base: withoutUserinfo(baseUrl).replace(/\/+$/, ''),
    headers,
    ...(dispatcher ? { dispatcher } : {}),
    ...(credentials ? { username: credentials.username } : {}),
  }
}

/**
 * The same settings from the environment under `prefix`: CONNECT_USERNAME with CONNECT_PASSWORD
 * or CONNECT_PASSWORD_FILE; CONNECT_CA_FILE, CONNECT_CERT_FILE, CONNECT_KEY_FILE.
 */
export function connectSecurityFromEnv(
  env: NodeJS.ProcessEnv,
  prefix: string,
): ConnectSecurityInput | undefined {
  const v = (name: string) => env[`${prefix}CONNECT_${name}`] || undefined
  const security: ConnectSecurityInput = {}
  const username = v('USERNAME')
  if (username) {
    const passwordFile = v('PASSWORD_FILE')
    security.auth = {
      username,
      password: passwordFile ? { file: passwordFile } : { env: `${prefix}CONNECT_PASSWORD` },
    }
  } else if (v('PASSWORD') || v('PASSWORD_FILE'))
    throw new OptionsError(`${prefix}CONNECT_PASSWORD is set without ${prefix}CONNECT_USERNAME`)
  const tls = { caFile: v('CA_FILE'), certFile: v('CERT_FILE'), keyFile: v('KEY_FILE') }
  if (Object.values(tls).some((f) => f !== undefined))
    security.tls = Object.fromEntries(Object.entries(tls).filter(([, f]) => f !== undefined))
  return Object.keys(security).length > 0 ? security : undefined
}
