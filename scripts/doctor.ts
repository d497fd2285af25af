import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { z } from 'zod'
import { loadConnectorConfig } from '../connector/config.ts'
import { runDoctor } from '../doctor/run-doctor.ts'
import { consumerGroup, parseEnv, postgresUrl } from '../lib/config.ts'
import { createConnectClient } from '../lib/connect-client.ts'
import { createKafka, parseBrokers } from '../lib/kafka.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

const doctorEnv = z.object({
  DATABASE_ADMIN_URL: postgresUrl.optional(),
  CONSUMER_GROUP: consumerGroup,
  DOCTOR_MAX_SLOT_RETAINED_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(512 * 1024 * 1024),
  DOCTOR_MAX_CONSUMER_LAG: z.coerce.number().int().min(0).default(10_000),
  DOCTOR_STALE_AFTER_S: z.coerce.number().int().min(1).default(60),
})

const mark = { ok: '✓', warn: '!', fail: '✗' } as const

/** `npm run doctor [-- --json]`: exits 1 when any check fails, each failure with what to do. */
runCli(async () => {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } })
  const env = withLocalStackDefaults()
  const connector = loadConnectorConfig(env)
  const own = parseEnv(doctorEnv, env, 'doctor')
  // The admin URL is the application database's server; read the application database with it.
  const url = new URL(own.DATABASE_ADMIN_URL ?? connector.DATABASE_URL)
  url.pathname = new URL(connector.DATABASE_URL).pathname
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    const report = await runDoctor(
      {
        sql,
        connect: createConnectClient(connector.CONNECT_URL, 5000),
        kafka: createKafka({
          brokers: parseBrokers(connector.KAFKA_BROKERS),
          clientId: 'outbox-cdc-doctor',
          retry: { retries: 1 },
        }),
      },
      {
        connectorName: connector.CONNECTOR_NAME,
        slotName: connector.CONNECTOR_SLOT_NAME,
        publication: connector.CONNECTOR_PUBLICATION,
        namespace: connector.TOPIC_NAMESPACE,
        consumerGroup: own.CONSUMER_GROUP,
        maxSlotRetainedBytes: own.DOCTOR_MAX_SLOT_RETAINED_BYTES,
        maxConsumerLag: own.DOCTOR_MAX_CONSUMER_LAG,
        staleAfterS: own.DOCTOR_STALE_AFTER_S,
      },
    )
    if (values.json)
      console.log(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2))
    else {
      for (const f of report.findings) {
        console.log(`${mark[f.severity]} ${f.check.padEnd(22)} ${f.detail}`)
        if (f.hint) console.log(`  → ${f.hint}`)
      }
      console.log(report.ok ? '\nThe pipeline is healthy.' : '\nSomething is wrong: fix the first ✗ first.')
    }
    return report.ok ? 0 : 1
  } finally {
    await sql.end({ timeout: 2 })
  }
})
