import type { Admin } from 'kafkajs'
import type postgres from 'postgres'
import { listParkedKeys } from '../consumer/parked-letters.ts'
import { cliCommands } from '../operations.ts'
import type { OutboxTableName } from '../outbox/table-name.ts'
import { qualifiedName } from '../outbox/table-name.ts'
import type { ConsumerTarget, DoctorTargets } from './check.ts'
import { type Finding, finding } from './finding.ts'

/**
 * The keys a consumer group holds back behind a dead letter (dead letters that keep each key's
 * order). A warning while any is held: its later events wait for a redrive. A failure once a key
 * has been held longer than the dead-letter topic keeps letters: the letter it waits behind may be
 * gone, and then no redrive ever frees it; only `dlq release` does. Nothing is reported when the
 * group keeps no parked-letters table (keepKeyOrder off, or a schema before migration 3).
 */
export async function parkedKeysFinding(
  sql: postgres.Sql,
  admin: Admin,
  consumer: ConsumerTarget,
  table: OutboxTableName,
  t: Pick<DoctorTargets, 'deadLetters' | 'commands'>,
): Promise<Finding | undefined> {
  const [found] = await sql<
    { name: string | null }[]
  >`select to_regclass(${qualifiedName(table)})::text as name`
  if (!found?.name) return undefined
  const check = `${(consumer.check ?? 'consumer.group').replace(/\.group$/, '')}.parked-keys`
  const keys = await listParkedKeys(sql, table, consumer.group)
  if (keys.length === 0)
    return finding(check, 'ok', `no key held back behind a dead letter`, undefined, { keys })
  const cmd = t.commands ?? cliCommands
  const retentionMs = await letterRetentionMs(admin, t.deadLetters.topic)
  const oldest = keys[0] as (typeof keys)[number]
  const heldMs = Date.now() - Date.parse(oldest.since)
  const waiting = keys.reduce((sum, k) => sum + k.waiting, 0)
  const detail = `${keys.length} key(s) held back behind a dead letter, ${waiting} event(s) waiting; the longest since ${oldest.since} (${oldest.topic} key ${oldest.key})`
  const release = `${cmd('dlq release')} --group ${consumer.group} --key <key>`
  if (!(await admin.listTopics()).includes(t.deadLetters.topic))
    return finding(
      check,
      'fail',
      `${detail}, but ${t.deadLetters.topic} does not exist: the letters they wait for are gone, and no redrive can free them`,
      `${release} lets each go`,
      { keys },
    )
  if (retentionMs !== undefined && retentionMs >= 0 && heldMs > retentionMs)
    return finding(
      check,
      'fail',
      `${detail}: held longer than ${t.deadLetters.topic} keeps letters, so the letter it waits for may be gone and no redrive can free it`,
      `${release} lets it go (its events still in the dead letters apply when redriven)`,
      { keys, retentionMs },
    )
  return finding(
    check,
    'warn',
    detail,
    `fix the cause, then ${cmd('dlq redrive')}; ${release} lets a key go without waiting`,
    { keys, retentionMs },
  )
}

async function letterRetentionMs(admin: Admin, topic: string): Promise<number | undefined> {
  const described = await admin
    .describeConfigs({
      resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }],
      includeSynonyms: false,
    })
    .catch(() => undefined)
  const value = described?.resources[0]?.configEntries.find(
    (e) => e.configName === 'retention.ms',
  )?.configValue
  return value === undefined ? undefined : Number(value)
}
