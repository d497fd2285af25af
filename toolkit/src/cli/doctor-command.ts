import type { DoctorTargets } from '../doctor/check.ts'
import { doctorChecks, runDoctor } from '../doctor/run-doctor.ts'
import { deadLetterTopicOf } from '../events/topics.ts'
import { connectPostgres } from '../security/postgres.ts'
import { connectOf, kafkaOf } from './clients.ts'
import type { CliConfig } from './config.ts'
import { type Command, flagsOf } from './context.ts'
import { redriveGroupOfConfig } from './kafka-commands.ts'

const mark = { ok: '✓', warn: '!', fail: '✗' } as const

/** What the doctor's checks look at, from the config; `doctor.targets` adds the service's own fields. */
export function doctorTargetsOf(config: CliConfig): DoctorTargets {
  const { connector, doctor } = config
  return {
    connectorName: connector.name,
    slotName: connector.slot,
    publication: connector.publication,
    namespace: connector.namespace,
    outboxTables: connector.outboxes,
    consumers: doctor.consumers ?? [{ group: config.consumer.group }],
    deadLetters: {
      topic: deadLetterTopicOf(connector.namespace),
      redriveGroup: redriveGroupOfConfig({ config }),
    },
    maxSlotRetainedBytes: doctor.maxSlotRetainedBytes,
    maxConsumerLag: doctor.maxConsumerLag,
    staleAfterS: doctor.staleAfterS,
    ...(config.commands ? { commands: config.commands } : {}),
    ...(config.reachHint ? { reachHint: config.reachHint } : {}),
    ...doctor.targets,
  }
}

/** What the checks read: the admin role (it reads pg_replication_slots fully) on the service's database. */
export function doctorDatabaseUrl(config: CliConfig): string {
  const url = new URL(config.postgres.adminUrl ?? config.postgres.url)
  url.pathname = new URL(config.postgres.url).pathname
  return url.toString()
}

/**
 * `doctor [--json]`: the toolkit's checks, then the service's own, in one report; exit 1 when any
 * check fails, each failure with what to do.
 */
export const doctorCommand: Command = async (c) => {
  const { values } = flagsOf(c.args, { json: { type: 'boolean' } })
  const { config } = c
  const sql = connectPostgres(doctorDatabaseUrl(config), { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    const report = await runDoctor(
      {
        sql,
        // It reports a Connect that answers 409 as it finds it, not after waiting for it to settle.
        connect: connectOf(config, 5000, { settleWaitMs: 0 }),
        kafka: kafkaOf(config, 'outbox-cdc-doctor', { retry: { retries: 1 } }),
      },
      doctorTargetsOf(config),
      [...doctorChecks, ...config.doctor.checks],
    )
    if (values.json) c.out(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? String(v) : v), 2))
    else {
      for (const f of report.findings) {
        c.out(`${mark[f.severity]} ${f.check.padEnd(22)} ${f.detail}`)
        if (f.hint) c.out(`  → ${f.hint}`)
      }
      c.out(report.ok ? '\nThe pipeline is healthy.' : '\nSomething is wrong: fix the first ✗ first.')
    }
    return report.ok ? 0 : 1
  } finally {
    await sql.end({ timeout: 2 })
  }
}
