import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { createConnectClient, type DoctorTargets, listSlots, replicationSlotFinding } from 'outbox-cdc'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildConnectorConfig, loadConnectorConfig } from '../../connector/config.ts'
import { npmCommands } from '../../lib/commands.ts'
import { connectorPasswordKey, connectorSecretsFile } from '../../lib/replication.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import { uniqueName } from '../support.ts'
import { startThrowawayPostgres, type ThrowawayPostgres } from '../throwaway-postgres.ts'

const stack = inject('stack')

/**
 * A slot past max_slot_wal_keep_size is invalidated (wal_status `lost`): the WAL it needed is gone,
 * and Postgres refuses to copy it, which is how the backlog is counted. The slot lives on a server
 * of this file's own, since the setting that loses it is server-wide.
 */
describe('a lost replication slot', () => {
  let pg: ThrowawayPostgres
  let sql: postgres.Sql
  const connect = createConnectClient(stack.connect.url)
  beforeAll(async () => {
    pg = await startThrowawayPostgres()
    sql = postgres(pg.adminUrl, { max: 1, onnotice: () => {} })
    await sql`create table outbox (id uuid primary key, aggregate_type text, aggregate_id text,
      event_type text, payload jsonb, created_at timestamp(6), trace_context text)`
    await sql`create table outbox_heartbeat (beat_at timestamptz not null default now())`
    await sql`create publication outbox_publication for table outbox, outbox_heartbeat with (publish = 'insert')`
  })
  afterAll(async () => {
    await sql?.end()
    pg?.stop()
  })

  // The command waits up to 60 s each for the connector to stop, for its task to let go of the slot,
  // and for an orphaned task to stop making the slot again (Connect stops such a task when it will,
  // later on a loaded machine): the test outwaits all three, so a slow run shows the command's own
  // words rather than a test timeout.
  const commandTimeoutMs = 200_000
  const slotExists = async (name: string) => (await listSlots(sql)).some((s) => s.slotName === name)

  it(
    'is removed with its connector by connector:delete --drop-slot --yes, as the doctor says, and stays removed though Connect cannot stop its task',
    async () => {
      const id = uniqueName('lost').toLowerCase()
      const slot = `slot_${id}`
      await pg.lostSlot(slot)
      const env = {
        CONNECT_URL: stack.connect.url,
        KAFKA_BROKERS: stack.kafka.brokers.join(','),
        DATABASE_URL: pg.adminUrl,
        DATABASE_ADMIN_URL: pg.adminUrl,
        CONNECTOR_NAME: `it-${id}`,
        CONNECTOR_SLOT_NAME: slot,
        CONNECTOR_TOPIC_PREFIX: `it-${id}`,
        CONNECTOR_DB_USER: 'postgres',
        CONNECTOR_DB_PASSWORD_REF: stack.secretsDir
          ? `\${file:${join(stack.secretsDir, connectorSecretsFile)}:${connectorPasswordKey}}`
          : '${env:OUTBOX_CONNECT_DB_PASSWORD}',
        TOPIC_NAMESPACE: `it.${id}.events`,
      }
      // The connector of a lost slot: it exists (and fails, since its slot can no longer stream).
      await connect.putConfig(env.CONNECTOR_NAME, buildConnectorConfig(loadConnectorConfig(env)))
      try {
        const info = (await listSlots(sql)).find((s) => s.slotName === slot)
        const doctor = replicationSlotFinding(info, {
          slotName: slot,
          maxSlotRetainedBytes: 1,
          commands: npmCommands,
        } as DoctorTargets)
        expect(doctor.hint).toContain('npm run connector:delete -- --drop-slot --yes')

        const result = spawnSync(
          join(repoRoot, 'node_modules', '.bin', 'tsx'),
          [join(repoRoot, 'scripts', 'outbox-cdc.ts'), 'connector', 'delete', '--drop-slot', '--yes'],
          { env: { ...process.env, ...env }, encoding: 'utf8', timeout: commandTimeoutMs },
        )
        const output = `${result.stdout}${result.stderr}`
        expect(output).toMatch(/lost \(wal_status lost\).* no backlog to count/)
        expect(result.status, output).toBe(0)
        // Connect's status topic forgets a deleted connector a moment after the DELETE returns.
        await expect.poll(() => connect.status(env.CONNECTOR_NAME), { timeout: 10_000 }).toBeUndefined()
        // And it stays gone. The task Connect could not stop (it waits on the lost slot, re-reading
        // it every 2 s) creates the slot afresh once it is dropped; three of its periods must pass
        // with no slot, since a recreated slot would hold WAL for ever with no connector to read it.
        const watchUntil = Date.now() + 6_000
        while (Date.now() < watchUntil) {
          expect(await slotExists(slot)).toBe(false)
          await delay(250)
        }
      } finally {
        await connect.remove(env.CONNECTOR_NAME)
      }
    },
    commandTimeoutMs + 30_000,
  )

  it('is dropped by slots:drop --force --yes with Connect unreachable (an unknown owner needs --yes), saying there was nothing to count', async () => {
    const slot = uniqueName('lost').toLowerCase()
    await pg.lostSlot(slot)
    const result = spawnSync(
      join(repoRoot, 'node_modules', '.bin', 'tsx'),
      [join(repoRoot, 'scripts', 'outbox-cdc.ts'), 'slots', 'drop', slot, '--force', '--yes'],
      {
        env: { ...process.env, DATABASE_ADMIN_URL: pg.adminUrl, CONNECT_URL: 'http://127.0.0.1:9' },
        encoding: 'utf8',
        timeout: 120_000,
      },
    )
    expect(`${result.stdout}${result.stderr}`).toMatch(/lost \(wal_status lost\).* no backlog to count/)
    expect(result.status).toBe(0)
    expect(await slotExists(slot)).toBe(false)
  })
})
