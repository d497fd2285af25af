import { describe, expect, it } from 'vitest'
import { ConfigError } from '../lib/config.ts'
import { buildConnectorConfig, loadConnectorConfig } from './config.ts'

const env = {
  CONNECT_URL: 'http://127.0.0.1:18083',
  KAFKA_BROKERS: '127.0.0.1:19092',
  DATABASE_URL: 'postgres://outbox:pw-in-url-9f3@db.example:5433/shop',
  CONNECTOR_DB_PASSWORD_REF: '${file:/run/secrets/connector.properties:database.password}',
}

describe('the outbox connector config', () => {
  it('reads the outbox with pgoutput on a named slot and pre-made publication, with no snapshot', () => {
    const config = buildConnectorConfig(loadConnectorConfig(env))
    expect(config).toMatchObject({
      'plugin.name': 'pgoutput',
      'slot.name': 'outbox_slot',
      'publication.name': 'outbox_publication',
      'publication.autocreate.mode': 'disabled',
      'snapshot.mode': 'no_data',
      'table.include.list': 'public.outbox,public.fulfilment_outbox,public.outbox_heartbeat',
      'heartbeat.interval.ms': '10000',
      'topic.prefix': 'outbox',
      'database.hostname': 'db.example',
      'database.port': '5433',
      'database.dbname': 'shop',
      'database.user': 'outbox_cdc',
    })
    expect(config).not.toHaveProperty('database.server.name')
  })

  it('passes the throughput settings through, and overrides the Connect producer only when asked', () => {
    const defaults = buildConnectorConfig(loadConnectorConfig(env))
    expect(defaults).toMatchObject({ 'poll.interval.ms': '25', 'max.batch.size': '2048' })
    expect(defaults).not.toHaveProperty('producer.override.linger.ms')
    const tuned = buildConnectorConfig(
      loadConnectorConfig({ ...env, CONNECTOR_MAX_BATCH_SIZE: '512', CONNECTOR_PRODUCER_LINGER_MS: '0' }),
    )
    expect(tuned).toMatchObject({ 'max.batch.size': '512', 'producer.override.linger.ms': '0' })
    expect(() => loadConnectorConfig({ ...env, CONNECTOR_PRODUCER_LINGER_MS: '-1' })).toThrow(ConfigError)
  })

  it('drops heartbeat-table records before Kafka and runs the EventRouter on outbox records only', () => {
    const config = buildConnectorConfig(loadConnectorConfig(env))
    expect(config).toMatchObject({
      transforms: 'dropHeartbeat,outbox',
      'transforms.dropHeartbeat.type': 'org.apache.kafka.connect.transforms.Filter',
      'transforms.dropHeartbeat.predicate': 'isHeartbeatTable',
      'predicates.isHeartbeatTable.pattern': 'outbox\\.public\\.outbox_heartbeat',
      'transforms.outbox.predicate': 'isOutboxTable',
    })
    // TopicNameMatches matches the whole topic name (Java's Matcher#matches).
    const outboxTopic = new RegExp(`^(?:${config['predicates.isOutboxTable.pattern']})$`)
    expect(
      ['outbox.public.outbox', 'outbox.public.fulfilment_outbox'].every((t) => outboxTopic.test(t)),
    ).toBe(true)
    expect(
      ['outbox.public.outbox_heartbeat', 'outbox.public.outboxes', 'outboxXpublic.outbox'].some((t) =>
        outboxTopic.test(t),
      ),
    ).toBe(false)
    expect(config['heartbeat.action.query']).toMatch(/INSERT INTO "public"\."outbox_heartbeat"/)
    expect(
      buildConnectorConfig(loadConnectorConfig({ ...env, CONNECTOR_HEARTBEAT_INTERVAL_MS: '0' })),
    ).not.toHaveProperty('heartbeat.interval.ms')
  })

  it('has Connect create the heartbeat topic, which no one else does, now that brokers do not auto-create', () => {
    expect(buildConnectorConfig(loadConnectorConfig(env))).toMatchObject({
      'topic.creation.default.partitions': '-1',
      'topic.creation.default.replication.factor': '-1',
    })
  })

  it('routes by aggregate type to outbox.events.<aggregate>, keyed by aggregate id, with id and event_type headers', () => {
    const config = buildConnectorConfig(loadConnectorConfig(env))
    expect(config).toMatchObject({
      'transforms.outbox.type': 'io.debezium.transforms.outbox.EventRouter',
      'transforms.outbox.route.by.field': 'aggregate_type',
      'transforms.outbox.route.topic.replacement': 'outbox.events.${routedByValue}',
      'transforms.outbox.table.field.event.key': 'aggregate_id',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    })
    expect(config['transforms.outbox.table.fields.additional.placement']).toContain(
      'event_type:header:event_type',
    )
  })

  it('asks for exactly-once delivery, a transaction per poll, only with CONNECTOR_EXACTLY_ONCE=true', () => {
    const plain = buildConnectorConfig(loadConnectorConfig(env))
    expect(plain).not.toHaveProperty('exactly.once.support')
    expect(plain).not.toHaveProperty('transaction.boundary')
    expect(
      buildConnectorConfig(loadConnectorConfig({ ...env, CONNECTOR_EXACTLY_ONCE: 'true' })),
    ).toMatchObject({
      'exactly.once.support': 'required',
      'transaction.boundary': 'poll',
    })
    expect(() => loadConnectorConfig({ ...env, CONNECTOR_EXACTLY_ONCE: 'yes' })).toThrow(
      /CONNECTOR_EXACTLY_ONCE/,
    )
  })

  it('creates a failover slot (Postgres 17+) only with CONNECTOR_SLOT_FAILOVER=true', () => {
    expect(buildConnectorConfig(loadConnectorConfig(env))).not.toHaveProperty('slot.failover')
    expect(
      buildConnectorConfig(loadConnectorConfig({ ...env, CONNECTOR_SLOT_FAILOVER: 'true' })),
    ).toMatchObject({
      'slot.failover': 'true',
    })
  })

  it("asks Debezium for TLS as DATABASE_URL does (libpq's sslmode and sslrootcert), and for none without them", () => {
    const secured = `${env.DATABASE_URL}?sslmode=verify-full&sslrootcert=%2Fetc%2Fpg%2Fca.pem`
    expect(buildConnectorConfig(loadConnectorConfig({ ...env, DATABASE_URL: secured }))).toMatchObject({
      'database.sslmode': 'verify-full',
      'database.sslrootcert': '/etc/pg/ca.pem',
      'database.dbname': 'shop',
    })
    expect(buildConnectorConfig(loadConnectorConfig(env))).not.toHaveProperty('database.sslmode')
    expect(() =>
      buildConnectorConfig(
        loadConnectorConfig({ ...env, DATABASE_URL: `${env.DATABASE_URL}?sslmode=verify-ca` }),
      ),
    ).toThrow(/verify-ca needs the CA/)
  })

  it('passes the password only as a config-provider reference, never the database URL’s password', () => {
    const config = buildConnectorConfig(loadConnectorConfig(env))
    expect(config['database.password']).toBe(env.CONNECTOR_DB_PASSWORD_REF)
    expect(JSON.stringify(config)).not.toContain('pw-in-url-9f3')
  })

  it('refuses a literal password and lists every bad variable', () => {
    expect(() =>
      loadConnectorConfig({ ...env, CONNECTOR_DB_PASSWORD_REF: 'hunter2', TOPIC_PARTITIONS: '0' }),
    ).toThrow(ConfigError)
    try {
      loadConnectorConfig({ ...env, CONNECTOR_DB_PASSWORD_REF: 'hunter2', TOPIC_PARTITIONS: '0' })
    } catch (error) {
      expect((error as Error).message).toMatch(
        /CONNECTOR_DB_PASSWORD_REF: must be a config-provider reference/,
      )
      expect((error as Error).message).toMatch(/TOPIC_PARTITIONS/)
    }
  })
})
