import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { httpUrl, kafkaBrokers, parseEnv, postgresUrl } from '../../lib/config.ts'

export { ConfigError } from '../../lib/config.ts'

/** The repository root: stack/lib/config.ts is two levels below it. */
export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../..')

const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback)

/**
 * Everything the local stack reads from the environment. The defaults keep clear of the usual
 * ports (5432, 9092, 8083) so the stack can run beside a system Postgres or Kafka.
 */
export const stackEnvSchema = z.object({
  STACK_DIR: z.string().min(1).default(resolve(repoRoot, '.stack')),
  /** Where the Maven-resolved jars go; shareable between stack dirs (tests use this). */
  STACK_JARS_DIR: z.string().min(1).optional(),
  POSTGRES_PORT: port(55432),
  KAFKA_PORT: port(19092),
  KAFKA_CONTROLLER_PORT: port(19093),
  CONNECT_PORT: port(18083),
  /** `testcontainers` runs the tests against docker-compose.yml instead (needs a Docker engine). */
  STACK_MODE: z.enum(['native', 'testcontainers']).default('native'),
  /** The JDK to run Kafka and Connect with; `java` on PATH when unset. */
  JAVA_HOME: z.string().min(1).optional(),
  /** Folder with initdb and postgres; found on its own when unset. */
  PG_BIN: z.string().min(1).optional(),
  POSTGRES_DB: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a plain lower-case SQL identifier')
    .default('outbox'),
  POSTGRES_USER: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'must be a plain lower-case SQL identifier')
    .default('outbox'),
  /** Use an existing server instead of starting one: then the stack leaves that component alone. */
  DATABASE_URL: postgresUrl.optional(),
  /** A role that may create publications and slots on that server; defaults to DATABASE_URL. */
  DATABASE_ADMIN_URL: postgresUrl.optional(),
  KAFKA_BROKERS: kafkaBrokers.optional(),
  CONNECT_URL: httpUrl.optional(),
  /** JVM heap for each of Kafka and Connect. */
  STACK_JVM_HEAP: z
    .string()
    .regex(/^\d+[mg]$/, 'must look like 512m or 1g')
    .default('768m'),
  /** Seconds a component may take to become healthy before stack:up gives up. */
  STACK_START_TIMEOUT_S: z.coerce.number().int().min(5).max(900).default(180),
})

export type StackEnv = z.infer<typeof stackEnvSchema>

export interface StackConfig {
  env: StackEnv
  stackDir: string
  jarsDir: string
  secretsDir: string
  /** Which components this stack starts itself; the others are given by URL. */
  managed: { postgres: boolean; kafka: boolean; connect: boolean }
}

/** The env var that moves each port, for error messages. */
export const portEnvVar = {
  postgres: 'POSTGRES_PORT',
  kafka: 'KAFKA_PORT',
  kafkaController: 'KAFKA_CONTROLLER_PORT',
  connect: 'CONNECT_PORT',
} as const

/** Parses the environment once; lists every problem at once instead of failing on the first. */
export function loadStackConfig(source: Record<string, string | undefined> = process.env): StackConfig {
  const env = parseEnv(stackEnvSchema, source, 'stack')
  const stackDir = resolve(env.STACK_DIR)
  return {
    env,
    stackDir,
    jarsDir: resolve(env.STACK_JARS_DIR ?? resolve(stackDir, 'jars')),
    secretsDir: resolve(stackDir, 'secrets'),
    managed: {
      postgres: env.DATABASE_URL === undefined,
      kafka: env.KAFKA_BROKERS === undefined,
      connect: env.CONNECT_URL === undefined,
    },
  }
}
