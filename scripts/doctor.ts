import { parseArgs } from 'node:util'
import { createConnectClient, createKafka, parseBrokers, runDoctor } from 'outbox-cdc'
import postgres from 'postgres'
import { bookstoreChecks } from '../doctor/checks.ts'
import { loadDoctorSetup } from '../doctor/config.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { runCli } from './cli.ts'

const mark = { ok: '✓', warn: '!', fail: '✗' } as const

/** `npm run doctor [-- --json]`: exits 1 when any check fails, each failure with what to do. */
runCli(async () => {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } })
  const { connector, targets, databaseUrl } = loadDoctorSetup(withLocalStackDefaults())
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 })
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
      targets,
      bookstoreChecks,
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
