import type { ConnectionOptions } from 'node:tls'
import type { SASLOptions } from 'kafkajs'
import { z } from 'zod'
import { OptionsError } from '../errors.ts'
import { readPemFile, readSecret, secretRefSchema } from './secret.ts'

const file = z.string().min(1)

/**
 * TLS to the brokers: `true` trusts the system's CAs (Confluent Cloud, MSK); an object names a
 * private CA and, for mutual TLS, a client certificate with its key.
 */
const kafkaTlsSchema = z.union([
  z.literal(true),
  z
    .strictObject({
      caFile: file.optional(),
      certFile: file.optional(),
      keyFile: file.optional(),
      /** The client key's passphrase, when it has one. */
      keyPassword: secretRefSchema.optional(),
    })
    .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
      message: 'a client certificate needs its key: give certFile and keyFile together',
    }),
])

export const saslMechanisms = ['plain', 'scram-sha-256', 'scram-sha-512'] as const

/** The fields, for a config that puts them beside its own (the CLI's `kafka` has `brokers` too). */
export const kafkaSecurityFields = {
  tls: kafkaTlsSchema.optional(),
  sasl: z
    .strictObject({
      mechanism: z.enum(saslMechanisms),
      username: z.string().min(1),
      password: secretRefSchema,
    })
    .optional(),
  /** SASL PLAIN without TLS, for a test cluster on loopback only. */
  allowPlainWithoutTls: z.boolean().default(false),
}

/** PLAIN sends the password as it is: over TLS only, unless a test cluster says otherwise. */
export const plainNeedsTls = {
  check: (s: { sasl?: { mechanism: string } | undefined; tls?: unknown; allowPlainWithoutTls: boolean }) =>
    s.sasl?.mechanism !== 'plain' || s.tls !== undefined || s.allowPlainWithoutTls,
  message:
    'SASL PLAIN without TLS sends the password as it is: add tls, or set allowPlainWithoutTls for a test cluster',
}

export const kafkaSecuritySchema = z
  .strictObject(kafkaSecurityFields)
  .refine(plainNeedsTls.check, { message: plainNeedsTls.message, path: ['sasl'] })

export type KafkaSecurityInput = z.input<typeof kafkaSecuritySchema>
export type KafkaSecurity = z.output<typeof kafkaSecuritySchema>

/** What kafkajs takes: its own `ssl` and `sasl` options. */
export interface KafkaClientSecurity {
  ssl?: true | ConnectionOptions
  sasl?: SASLOptions
}

/**
 * kafkajs's `ssl` and `sasl` from the settings, files and secrets read now: a wrong path fails
 * here, naming it, instead of as a connection error at the first request.
 */
export function kafkaClientSecurity(
  security: Omit<KafkaSecurity, 'allowPlainWithoutTls'> | undefined,
  env: NodeJS.ProcessEnv = process.env,
): KafkaClientSecurity {
  if (!security) return {}
  const built: KafkaClientSecurity = {}
  const tls = security.tls
  if (tls === true) built.ssl = true
  else if (tls) {
    built.ssl = {
      ...(tls.caFile ? { ca: [readPemFile(tls.caFile, "Kafka's CA file")] } : {}),
      ...(tls.certFile ? { cert: readPemFile(tls.certFile, "Kafka's client certificate") } : {}),
      ...(tls.keyFile ? { key: readPemFile(tls.keyFile, "Kafka's client key") } : {}),
      ...(tls.keyPassword
        ? { passphrase: readSecret(tls.keyPassword, "Kafka's client key passphrase", env) }
        : {}),
      rejectUnauthorized: true,
    }
  }
  if (security.sasl) {
    const { mechanism, username, password } = security.sasl
    const secret = readSecret(password, `Kafka's SASL password (user ${username})`, env)
    built.sasl = { mechanism, username, password: secret } as SASLOptions
  }
  return built
}

/** What the variables under `prefix` say, unchecked: settings to lay over others, and whether TLS is turned off. */
function readKafkaEnv(
  env: NodeJS.ProcessEnv,
  prefix: string,
): { security: KafkaSecurityInput; tlsOff: boolean } | undefined {
  const v = (name: string) => env[`${prefix}KAFKA_${name}`] || undefined
  const files = { caFile: v('CA_FILE'), certFile: v('CERT_FILE'), keyFile: v('KEY_FILE') }
  const anyFile = Object.values(files).some((f) => f !== undefined)
  const tlsFlag = v('TLS')
  if (tlsFlag !== undefined && tlsFlag !== 'true' && tlsFlag !== 'false')
    throw new OptionsError(`${prefix}KAFKA_TLS must be true or false, not ${JSON.stringify(tlsFlag)}`)
  const mechanism = v('SASL_MECHANISM')
  if (!anyFile && tlsFlag === undefined && mechanism === undefined) return undefined
  const security: KafkaSecurityInput = {}
  if (anyFile && tlsFlag !== 'false')
    security.tls = Object.fromEntries(Object.entries(files).filter(([, f]) => f !== undefined))
  else if (tlsFlag === 'true') security.tls = true
  if (mechanism !== undefined) {
    if (!(saslMechanisms as readonly string[]).includes(mechanism))
      throw new OptionsError(
        `${prefix}KAFKA_SASL_MECHANISM must be one of ${saslMechanisms.join(', ')}, not ${JSON.stringify(mechanism)}`,
      )
    const passwordFile = v('SASL_PASSWORD_FILE')
    security.sasl = {
      mechanism: mechanism as (typeof saslMechanisms)[number],
      username: v('SASL_USERNAME') ?? '',
      password: passwordFile ? { file: passwordFile } : { env: `${prefix}KAFKA_SASL_PASSWORD` },
    }
  }
  return { security, tlsOff: tlsFlag === 'false' }
}

/**
 * The same settings from environment variables, under `prefix` (the CLI's is `OUTBOX_CDC_`):
 * KAFKA_TLS=true (or false), KAFKA_CA_FILE, KAFKA_CERT_FILE, KAFKA_KEY_FILE, KAFKA_SASL_MECHANISM,
 * KAFKA_SASL_USERNAME, and KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE. The password stays a
 * reference, read when a client is built. undefined when none is set. Checked on their own: for
 * settings laid over a config file's, see withKafkaEnv.
 */
export function kafkaSecurityFromEnv(env: NodeJS.ProcessEnv, prefix: string): KafkaSecurityInput | undefined {
  const read = readKafkaEnv(env, prefix)
  if (!read) return undefined
  const parsed = kafkaSecuritySchema.safeParse(read.security)
  if (!parsed.success)
    throw new OptionsError(
      `Kafka security from ${prefix}KAFKA_*: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  return read.security
}

/**
 * A config's Kafka section with the variables under `prefix` laid over it (KAFKA_TLS=false takes
 * its TLS away), left for the config's own schema to check as a whole: SASL PLAIN from the
 * environment beside the file's TLS is fine.
 */
export function withKafkaEnv(
  kafka: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  prefix: string,
): Record<string, unknown> {
  const read = readKafkaEnv(env, prefix)
  if (!read) return kafka
  const merged: Record<string, unknown> = { ...kafka, ...read.security }
  if (read.tlsOff) delete merged.tls
  return merged
}
