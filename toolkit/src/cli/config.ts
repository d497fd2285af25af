import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { z } from 'zod'
import { type OutboxConnectorOptions, outboxConnectorOptionsSchema } from '../connector/config.ts'
import type { ProvisionOptions } from '../connector/provision.ts'
import { stageIds } from '../console/stages.ts'
import type { ConsumerTarget, DoctorCheck } from '../doctor/check.ts'
import { OptionsError } from '../errors.ts'
import { type DeadLetterTopicSettings, deadLetterTopicSettingsSchema } from '../kafka/dead-letter-topic.ts'
import { type CommandNamer, cliCommands } from '../operations.ts'
import { connectSecurityFromEnv, connectSecuritySchema } from '../security/connect.ts'
import { kafkaSecurityFields, plainNeedsTls, withKafkaEnv } from '../security/kafka.ts'
import { postgresTlsOf, postgresTlsSchema, withTlsParameters } from '../security/postgres.ts'

const postgresUrl = z.string().refine((url) => /^postgres(ql)?:\/\//.test(url), 'must be a postgres:// URL')
const httpUrl = z.string().refine((url) => /^https?:\/\//.test(url), 'must be an http:// or https:// URL')
const port = z.number().int().min(0).max(65_535)
const group = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'must be a Kafka group id: letters, digits, . _ -')
/** A function in a config module: kept as given (zod checks only that it is one). */
const fn = <T>() => z.custom<T>((value) => typeof value === 'function', 'must be a function')

/**
 * What the `outbox-cdc` CLI works against: a service's own Postgres, Kafka and Connect, and its
 * connector's options. One schema for a config file and for a service that builds the config in
 * code; strict throughout, so a misspelt key fails instead of being ignored.
 */
export const cliConfigSchema = z.strictObject({
  postgres: z.strictObject({
    /** The service's database: the doctor reads it. */
    url: postgresUrl,
    /** A role that may manage replication slots (slots, connector delete --drop-slot); else `url`. */
    adminUrl: postgresUrl.optional(),
    /** TLS for both; libpq's `?sslmode=…&sslrootcert=…` in the URLs says the same. */
    tls: postgresTlsSchema.optional(),
  }),
  kafka: z
    .strictObject({ brokers: z.array(z.string().min(1)).min(1), ...kafkaSecurityFields })
    .refine(plainNeedsTls.check, { message: plainNeedsTls.message, path: ['sasl'] }),
  connect: z.strictObject({
    url: httpUrl,
    timeoutMs: z.number().int().min(100).default(10_000),
    ...connectSecuritySchema.shape,
  }),
  connector: z.custom<OutboxConnectorOptions>(
    (value) => outboxConnectorOptionsSchema.safeParse(value).success,
  ),
  topics: z.strictObject({
    /** One event topic each: the registry's `aggregates`. */
    aggregates: z.array(z.string()).min(1),
    partitions: z.number().int().min(1).max(1000).default(3),
    /** The event topics' `retention.ms` when created (-1: for ever); the broker's default when not given. */
    retentionMs: z.number().int().optional(),
    deadLetters: deadLetterTopicSettingsSchema.optional(),
  }),
  /** How long register, pause, stop and resume wait for the connector's new state. */
  waitTimeoutMs: z.number().int().min(1000).default(60_000),
  /** The consumer group `replay` moves and `dlq redrive` records its progress beside. */
  consumer: z.strictObject({
    group,
    redriveGroup: group.optional(),
    /** The group's inbox: `replay` refuses to move the group below the horizon its pruner reached. */
    inbox: z.union([z.string(), z.strictObject({ schema: z.string(), table: z.string() })]).optional(),
    /** Where the inboxes' pruners record their horizon (`outbox_cdc_inbox_horizon` when not given). */
    inboxHorizon: z.union([z.string(), z.strictObject({ schema: z.string(), table: z.string() })]).optional(),
    /** Where consumers keep their parked keys, which `dlq list` shows (beside the inbox when not given). */
    parkedLetters: z
      .union([z.string(), z.strictObject({ schema: z.string(), table: z.string() })])
      .optional(),
  }),
  doctor: z
    .strictObject({
      maxSlotRetainedBytes: z
        .number()
        .int()
        .min(0)
        .default(512 * 1024 * 1024),
      maxConsumerLag: z.number().int().min(0).default(10_000),
      staleAfterS: z.number().int().min(1).default(60),
      /** The groups whose lag is checked; `consumer.group` over every event topic by default. */
      consumers: z.array(z.custom<ConsumerTarget>((v) => typeof v === 'object' && v !== null)).optional(),
      /**
       * The service's own checks, run after the toolkit's. They may read fields of their own,
       * which `targets` below adds: the config cannot know their types.
       */
      // biome-ignore lint/suspicious/noExplicitAny: each service's checks read targets of its own shape
      checks: z.array(z.custom<DoctorCheck<any>>((v) => typeof v === 'object' && v !== null)).default([]),
      /** Fields the service's own checks read, added to the targets every check gets. */
      targets: z.record(z.string(), z.unknown()).default({}),
    })
    .default({
      maxSlotRetainedBytes: 512 * 1024 * 1024,
      maxConsumerLag: 10_000,
      staleAfterS: 60,
      checks: [],
      targets: {},
    }),
  /** `console`: where the page listens and which services it watches. Its token comes from the environment or a file. */
  console: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: port.default(3002),
      /** Other `host:port` names it answers to, when `host` opens it beyond loopback. */
      allowedHosts: z.array(z.string().regex(/^[^\s/]+:\d+$/, 'must be host:port')).default([]),
      /** Base URL of the service that appends (its /health, and /metrics with outbox_events_written_total). */
      writerUrl: httpUrl.optional(),
      /** Base URL of the consumer's health server (startHealthServer). */
      consumerUrl: httpUrl.optional(),
      sampleMs: z.number().int().min(500).max(60_000).default(3000),
      timeoutMs: z.number().int().min(200).max(60_000).default(4000),
      /** Where a check of the service's own shows, when not the read model. */
      stages: z.record(z.string(), z.array(z.enum(stageIds))).default({}),
      /** A file holding the actions' token, when OUTBOX_CDC_CONSOLE_TOKEN is not set. */
      tokenFile: z.string().min(1).optional(),
    })
    .prefault({}),
  /** How hints and usage lines name commands: the CLI's own by default. */
  commands: fn<CommandNamer>().optional(),
  /** Said after "is Postgres up?" and the like. */
  reachHint: z.string().optional(),
})

export type CliConfigInput = z.input<typeof cliConfigSchema>
export type CliConfig = z.output<typeof cliConfigSchema>

/** Types a config file's default export; returns it unchanged. */
export const defineCliConfig = (config: CliConfigInput): CliConfigInput => config

/** The environment variables that override a config file: the addresses, which may hold passwords. */
export const cliEnvOverrides = {
  OUTBOX_CDC_DATABASE_URL: 'postgres.url',
  OUTBOX_CDC_DATABASE_ADMIN_URL: 'postgres.adminUrl',
  OUTBOX_CDC_KAFKA_BROKERS: 'kafka.brokers',
  OUTBOX_CDC_CONNECT_URL: 'connect.url',
  /** And the secured clusters' settings: OUTBOX_CDC_KAFKA_* and OUTBOX_CDC_CONNECT_* (see the docs). */
} as const

/** Parses a config, every problem on its own line with its path; the connector's options too. */
export function parseCliConfig(input: unknown, source = 'the config'): CliConfig {
  const parsed = cliConfigSchema.safeParse(input)
  const connector = outboxConnectorOptionsSchema.safeParse((input as { connector?: unknown })?.connector)
  const issues = [
    ...(parsed.success ? [] : parsed.error.issues.filter((i) => i.path[0] !== 'connector')),
    ...(connector.success
      ? []
      : connector.error.issues.map((i) => ({ ...i, path: ['connector', ...i.path] }))),
  ]
  if (!parsed.success || !connector.success) {
    const lines = issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`)
    throw new OptionsError(`${source} is not valid:\n  ${lines.join('\n  ')}`)
  }
  return withPostgresTls({ ...parsed.data, connector: connector.data })
}

/**
 * One TLS setting for every Postgres connection: `postgres.tls` goes into both URLs as libpq's
 * parameters (which every client reads through connectPostgres), and becomes the connector's
 * unless it names its own (Connect's worker may keep the CA at another path).
 */
function withPostgresTls(config: CliConfig): CliConfig {
  const explicit = config.postgres.tls
  const tls = explicit ?? postgresTlsOf(config.postgres.url).tls
  if (!tls) return config
  const admin = config.postgres.adminUrl
  // An admin URL that says its own TLS keeps it, unless postgres.tls speaks for both.
  const adminTls = explicit ?? (admin ? postgresTlsOf(admin).tls : undefined) ?? tls
  const postgres = {
    ...config.postgres,
    url: withTlsParameters(config.postgres.url, tls),
    ...(admin ? { adminUrl: withTlsParameters(admin, adminTls) } : {}),
  }
  const database = { ...config.connector.database, tls: config.connector.database.tls ?? tls }
  return { ...config, postgres, connector: { ...config.connector, database } }
}

/** `config` with the addresses the environment gives (cliEnvOverrides) put over the file's. */
export function withEnvOverrides(
  config: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const at = (key: string) => ({ ...((config[key] as Record<string, unknown> | undefined) ?? {}) })
  const postgres = at('postgres')
  const kafka = at('kafka')
  const connect = at('connect')
  if (env.OUTBOX_CDC_DATABASE_URL) postgres.url = env.OUTBOX_CDC_DATABASE_URL
  if (env.OUTBOX_CDC_DATABASE_ADMIN_URL) postgres.adminUrl = env.OUTBOX_CDC_DATABASE_ADMIN_URL
  if (env.OUTBOX_CDC_KAFKA_BROKERS)
    kafka.brokers = env.OUTBOX_CDC_KAFKA_BROKERS.split(',').map((broker) => broker.trim())
  if (env.OUTBOX_CDC_CONNECT_URL) connect.url = env.OUTBOX_CDC_CONNECT_URL
  Object.assign(connect, connectSecurityFromEnv(env, 'OUTBOX_CDC_'))
  return { ...config, postgres, kafka: withKafkaEnv(kafka, env, 'OUTBOX_CDC_'), connect }
}

/** Where the CLI looks for its config when --config names none, in this order. */
export const defaultConfigFiles = ['outbox-cdc.config.mjs', 'outbox-cdc.config.js', 'outbox-cdc.config.json']

/**
 * Loads the config file (`--config`, OUTBOX_CDC_CONFIG, or the first of defaultConfigFiles in
 * `cwd`): JSON, or a module whose default export is the config (a module can hold the doctor's
 * own checks and read the environment itself). The addresses come from the environment when set.
 */
export async function loadCliConfig(
  named: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): Promise<CliConfig> {
  const file = named ?? env.OUTBOX_CDC_CONFIG ?? defaultConfigFiles.find((f) => existsSync(resolve(cwd, f)))
  if (!file)
    throw new OptionsError(
      `no config file: pass --config <file>, set OUTBOX_CDC_CONFIG, or add ${defaultConfigFiles.join(' or ')} here (${cwd})`,
    )
  const path = resolve(cwd, file)
  if (!existsSync(path)) throw new OptionsError(`config file ${path} does not exist`)
  let raw: unknown
  try {
    raw = path.endsWith('.json')
      ? JSON.parse(await readFile(path, 'utf8'))
      : ((await import(pathToFileURL(path).href)) as { default?: unknown }).default
  } catch (cause) {
    throw new OptionsError(`cannot read config file ${path}: ${(cause as Error).message}`)
  }
  // A TypeScript config compiled to CommonJS has its object under exports.default.
  const inner = (raw as { default?: unknown } | null)?.default
  if (
    typeof inner === 'object' &&
    inner !== null &&
    Object.keys(raw as object).every((k) => k === 'default' || k === '__esModule')
  )
    raw = inner
  if (typeof raw !== 'object' || raw === null)
    throw new OptionsError(`config file ${path} must hold an object (a module: as its default export)`)
  return parseCliConfig(withEnvOverrides(raw as Record<string, unknown>, env), `config file ${path}`)
}

/** What `provisionConnector` takes, from the config. */
export const provisionOptionsOf = (config: CliConfig): ProvisionOptions => ({
  connector: config.connector,
  topics: {
    aggregates: config.topics.aggregates,
    partitions: config.topics.partitions,
    ...(config.topics.retentionMs === undefined ? {} : { retentionMs: config.topics.retentionMs }),
    ...(config.topics.deadLetters
      ? { deadLetters: config.topics.deadLetters as DeadLetterTopicSettings }
      : {}),
  },
  waitTimeoutMs: config.waitTimeoutMs,
  resumeHint: (config.commands ?? cliCommands)('connector resume'),
})
