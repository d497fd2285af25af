import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ConnectSecurityInput, KafkaSecurityInput, PostgresTls } from 'outbox-cdc'
import { type Certificates, certificatesIn, ensureCertificates } from './certs.ts'
import type { StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import { ensureSecret, secretFile, writePrivate } from './secrets.ts'

/**
 * The secured stack (STACK_SECURE=true): what production clusters ask of a client, on loopback.
 * Kafka takes SASL_SSL only, with SCRAM-SHA-512 users; Connect's REST API wants basic auth; Postgres
 * takes TLS connections only. One CA, made by the stack, signs every server's certificate.
 */

/** The SCRAM users: the brokers among themselves, Connect's worker, and every client of ours. */
export const kafkaUsers = { broker: 'admin', connect: 'connect', client: 'outbox-cdc' } as const
/** Connect's REST user: every command and the console ask as this one. */
export const connectRestUser = 'operator'

const secretName = {
  broker: 'kafka-admin',
  connect: 'kafka-connect',
  client: 'kafka-client',
  rest: 'connect-rest',
} as const

export const isSecure = (config: StackConfig) => config.env.STACK_SECURE

/**
 * A Kafka storage formatted for the other mode (its SCRAM users are written at format time) is
 * refused by name; kafka.ts checks it when a node prepares, and this before anything starts.
 */
export function storageModeError(
  dir: string,
  formattedSecure: boolean,
  secure: boolean,
): StackError | undefined {
  if (formattedSecure === secure) return undefined
  const mode = (on: boolean) => (on ? 'secured' : 'plain')
  return new StackError(
    'START_FAILED',
    `Kafka's storage in ${dir} was formatted for the ${mode(formattedSecure)} stack, not the ${mode(secure)} one (its SCRAM users are written at format time). ` +
      `Set STACK_SECURE=${formattedSecure}, or reset the stack with \`npm run stack:down -- --purge\`.`,
  )
}

/**
 * Refuses what the secured stack does not do, and a switch of mode on a folder, before anything
 * starts or the folder records the new mode: Postgres would otherwise be turned to TLS only and
 * the topology saved, before Kafka's node refused its storage.
 */
export function assertSecureShape(config: StackConfig) {
  const entries = existsSync(config.stackDir) ? readdirSync(config.stackDir, { withFileTypes: true }) : []
  for (const name of entries.flatMap((e) =>
    e.isDirectory() && /^kafka(-\d+)?$/.test(e.name) ? [e.name] : [],
  )) {
    const file = join(config.stackDir, name, 'formatted.json')
    if (!existsSync(file)) continue
    const formatted = JSON.parse(readFileSync(file, 'utf8')) as { secure?: boolean }
    const error = storageModeError(join(config.stackDir, name), formatted.secure ?? false, isSecure(config))
    if (error) throw error
  }
  if (!isSecure(config)) return
  if (config.env.STACK_KAFKA_NODES !== 1 || config.env.STACK_CONNECT_WORKERS !== 1)
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      'STACK_SECURE runs one Kafka node and one Connect worker: a worker forwards REST calls to the ' +
        "group's leader, which basic auth would refuse. Unset STACK_KAFKA_NODES and STACK_CONNECT_WORKERS.",
    )
  // The standby's copy, its replication and the failover's checks speak plain TCP to each node;
  // the secured stack's Postgres refuses that. Not built yet: refused before anything starts.
  if (config.env.STACK_POSTGRES_STANDBY)
    throw new StackError(
      'TOPOLOGY_MISMATCH',
      'STACK_SECURE does not run a Postgres standby yet: unset STACK_POSTGRES_STANDBY, or STACK_SECURE.',
    )
}

/** Makes the certificates and the passwords (once; later starts keep them). */
export function ensureSecureMaterial(config: StackConfig): Certificates {
  for (const name of Object.values(secretName)) ensureSecret(config.secretsDir, name)
  return ensureCertificates(config.certsDir)
}

const passwordOf = (config: StackConfig, who: keyof typeof secretName) =>
  ensureSecret(config.secretsDir, secretName[who])

/** How our clients reach the secured Kafka: the stack's CA, the client user, its password by file. */
export function stackKafkaSecurity(config: StackConfig): KafkaSecurityInput | undefined {
  if (!isSecure(config)) return undefined
  return {
    tls: { caFile: certificatesIn(config.certsDir).caFile },
    sasl: {
      mechanism: 'scram-sha-512',
      username: kafkaUsers.client,
      password: { file: secretFile(config.secretsDir, secretName.client) },
    },
  }
}

export function stackConnectSecurity(config: StackConfig): ConnectSecurityInput | undefined {
  if (!isSecure(config)) return undefined
  return {
    auth: { username: connectRestUser, password: { file: secretFile(config.secretsDir, secretName.rest) } },
  }
}

export function stackPostgresTls(config: StackConfig): PostgresTls | undefined {
  if (!isSecure(config)) return undefined
  return { sslmode: 'verify-full', caFile: certificatesIn(config.certsDir).caFile }
}

/**
 * The variables every entry point reads for a secured cluster (lib/config.ts), pointing at the
 * stack's files: passwords by file, never by value.
 */
export function secureEnvDefaults(config: StackConfig): Record<string, string> {
  if (!isSecure(config)) return {}
  return {
    KAFKA_CA_FILE: certificatesIn(config.certsDir).caFile,
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: kafkaUsers.client,
    KAFKA_SASL_PASSWORD_FILE: secretFile(config.secretsDir, secretName.client),
    CONNECT_USERNAME: connectRestUser,
    CONNECT_PASSWORD_FILE: secretFile(config.secretsDir, secretName.rest),
  }
}

const scramLogin = (user: string, password: string) =>
  `org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`

/** The broker's listener as SASL_SSL; the controller's stays on loopback, as it serves no client. */
export function secureKafkaProperties(config: StackConfig, broker: number, controller: number) {
  const certs = certificatesIn(config.certsDir)
  return {
    listeners: `SASL_SSL://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
    'advertised.listeners': `SASL_SSL://127.0.0.1:${broker}`,
    'listener.security.protocol.map': 'SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'SASL_SSL',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': scramLogin(
      kafkaUsers.broker,
      passwordOf(config, 'broker'),
    ),
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': certs.serverKeystoreFile,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caFile,
  }
}

/**
 * The SCRAM users, written into the storage when it is formatted (KIP-900): the brokers need
 * theirs before any metadata is read. The format command goes through a file of mode 0600 that
 * java reads (@argfile), so no password is ever on a command line.
 */
export function scramFormatArgsFile(config: StackConfig, dir: string, args: string[]): string {
  const file = join(dir, '.format-args')
  // The launcher expands an @file only before the main class: the whole command goes in it.
  const lines = args.map((arg) => `"${arg}"`)
  lines.push(
    ...(Object.keys(kafkaUsers) as (keyof typeof kafkaUsers)[]).flatMap((who) => [
      '--add-scram',
      `"SCRAM-SHA-512=[name=${kafkaUsers[who]},password=${passwordOf(config, who)}]"`,
    ]),
  )
  writePrivate(file, `${lines.join('\n')}\n`)
  return file
}

/** Connect's worker as a SASL_SSL client of Kafka, for itself and for the connectors' clients. */
export function secureConnectProperties(config: StackConfig) {
  const certs = certificatesIn(config.certsDir)
  const client = {
    'security.protocol': 'SASL_SSL',
    'sasl.mechanism': 'SCRAM-SHA-512',
    'sasl.jaas.config': scramLogin(kafkaUsers.connect, passwordOf(config, 'connect')),
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': certs.caFile,
  }
  const prefixed = (prefix: string) =>
    Object.fromEntries(Object.entries(client).map(([key, value]) => [`${prefix}${key}`, value]))
  return {
    ...client,
    ...prefixed('producer.'),
    ...prefixed('consumer.'),
    ...prefixed('admin.'),
    'rest.extension.classes':
      'org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension',
  }
}

/**
 * The REST API's users (Kafka's PropertyFileLoginModule) and the JAAS file naming them; returns
 * the JVM flag that points Connect at it.
 */
export function connectRestAuthFiles(config: StackConfig, dir: string): string[] {
  const users = join(dir, 'rest-users.properties')
  writePrivate(users, `${connectRestUser}: ${passwordOf(config, 'rest')}\n`)
  const jaas = join(dir, 'rest-jaas.conf')
  writeFileSync(
    jaas,
    `KafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file="${users}";\n};\n`,
  )
  return [`-Djava.security.auth.login.config=${jaas}`]
}
