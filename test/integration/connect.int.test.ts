import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createConnectClient, debeziumPostgresClass, registerConnector } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildConnectorConfig, loadConnectorConfig, registerOptionsOf } from '../../connector/config.ts'
import { createTestDatabase } from '../support.ts'

const stack = inject('stack')
const connect = createConnectClient(stack.connect.url)

/** An outbox connector config of the shape the project registers, for Connect to judge. */
function eventRouterConfig(db: { url: string; name: string }, password: string): Record<string, string> {
  const url = new URL(db.url)
  return {
    name: 'it-outbox',
    'connector.class': debeziumPostgresClass,
    'tasks.max': '1',
    'plugin.name': 'pgoutput',
    'database.hostname': stack.connectorDatabase?.host ?? url.hostname,
    'database.port': String(stack.connectorDatabase?.port ?? url.port),
    'database.user': decodeURIComponent(url.username),
    'database.password': password,
    'database.dbname': db.name,
    'topic.prefix': 'it',
    'table.include.list': 'public.outbox',
    'snapshot.mode': 'no_data',
    'tombstones.on.delete': 'false',
    transforms: 'outbox',
    'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
    'transforms.outbox.route.by.field': 'aggregate_type',
    'transforms.outbox.route.topic.replacement': 'outbox.events.${routedByValue}',
    'transforms.outbox.table.field.event.key': 'aggregate_id',
    'transforms.outbox.table.fields.additional.placement': 'event_type:header:event_type',
    'transforms.outbox.table.expand.json.payload': 'true',
  }
}

const errorsOf = (validation: Awaited<ReturnType<typeof connect.validate>>) =>
  Object.fromEntries(
    validation.configs.filter((c) => c.value.errors.length > 0).map((c) => [c.value.name, c.value.errors]),
  )

describe('Kafka Connect with the Debezium Postgres connector', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>
  let passwordRef: string

  beforeAll(async () => {
    db = await createTestDatabase(stack.postgres.adminUrl, 'it_connect')
    const password = decodeURIComponent(new URL(db.url).password)
    if (stack.secretsDir) {
      // The password reaches Connect through its file config provider, never in the config itself.
      const file = join(stack.secretsDir, 'it-connect.properties')
      writeFileSync(file, `password=${password}\n`, { mode: 0o600 })
      passwordRef = `\${file:${file}:password}`
    } else {
      passwordRef = '${env:OUTBOX_CONNECT_DB_PASSWORD}'
    }
  })

  afterAll(async () => {
    await db?.drop()
  })

  it('lists the Debezium Postgres connector among its plugins', async () => {
    const plugins = await connect.plugins()
    const debezium = plugins.find((plugin) => plugin.class === debeziumPostgresClass)
    expect(debezium).toMatchObject({ type: 'source' })
    expect(debezium?.version).toMatch(/^3\.7\./)
  })

  it('accepts an EventRouter outbox config whose password comes from a config provider', async () => {
    const validation = await connect.validate(debeziumPostgresClass, eventRouterConfig(db, passwordRef))
    expect(errorsOf(validation)).toEqual({})
    expect(validation.error_count).toBe(0)
  })

  it('rejects a snapshot mode that Debezium 3.3 removed, naming the field', async () => {
    const config = { ...eventRouterConfig(db, passwordRef), 'snapshot.mode': 'never' }
    const validation = await connect.validate(debeziumPostgresClass, config)
    expect(Object.keys(errorsOf(validation))).toEqual(['snapshot.mode'])
  })

  it('loads the EventRouter class itself: a misspelt transform is rejected', async () => {
    const config = {
      ...eventRouterConfig(db, passwordRef),
      'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouterX',
    }
    const validation = await connect.validate(debeziumPostgresClass, config)
    expect(Object.keys(errorsOf(validation))).toContain('transforms.outbox.type')
  })

  it('connector:register prints the fields Connect rejects and creates nothing', async () => {
    const name = `it-rejected-${Date.now()}`
    const env = loadConnectorConfig({
      CONNECT_URL: stack.connect.url,
      KAFKA_BROKERS: stack.kafka.brokers.join(','),
      DATABASE_URL: db.url,
      CONNECTOR_NAME: name,
      CONNECTOR_DB_USER: 'no_such_role',
      CONNECTOR_DB_PASSWORD_REF: passwordRef,
      ...(stack.connectorDatabase
        ? {
            CONNECTOR_DB_HOST: stack.connectorDatabase.host,
            CONNECTOR_DB_PORT: String(stack.connectorDatabase.port),
          }
        : {}),
    })
    const attempt = registerConnector(connect, buildConnectorConfig(env), registerOptionsOf(env), () => {})
    await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_REJECTED' })
    await expect(attempt).rejects.toThrow(
      /database.hostname: .*password authentication failed for user "no_such_role"/,
    )
    expect(await connect.status(name)).toBeUndefined()
  })

  it('really connects to Postgres while validating: a wrong password is reported', async () => {
    const validation = await connect.validate(
      debeziumPostgresClass,
      eventRouterConfig(db, 'not-the-password'),
    )
    expect(validation.error_count).toBeGreaterThan(0)
    expect(JSON.stringify(errorsOf(validation))).toMatch(/password authentication failed/i)
  })
})
