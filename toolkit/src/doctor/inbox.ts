import type { Admin } from 'kafkajs'
import type postgres from 'postgres'
import { isEventTopicOf } from '../events/topics.ts'
import { defaultHorizonOf, readInboxHorizon, readInboxSize } from '../inbox/prune-sql.ts'
import { besideInbox, defaultParkedLetters } from '../schema/sql.ts'
import type { ConsumerTarget, DoctorCheck } from './check.ts'
import { type Finding, finding } from './finding.ts'
import { parkedKeysFinding } from './parked-keys.ts'

const days = (ms: number) => `${Math.round((ms / 86_400_000) * 10) / 10} d`
const retentionText = (ms: number) =>
  ms < 0 ? 'for ever' : ms < 86_400_000 ? `${Math.round(ms / 1000)} s` : days(ms)

/**
 * A consumer's inbox: how many rows (the planner's estimate), the oldest, and the horizon the
 * pruner has reached. A warning when the topics it reads keep records longer than INBOX_RETENTION:
 * a row outlives its event's records, so the inbox then holds the topics' retention, not its own
 * (and `off` keeps every row). Named after the group's check: `consumer.group` → `consumer.inbox`.
 */
export async function inboxFinding(
  sql: postgres.Sql,
  admin: Admin,
  topics: string[],
  consumer: ConsumerTarget & { inbox: NonNullable<ConsumerTarget['inbox']> },
): Promise<Finding> {
  const check = `${(consumer.check ?? 'consumer.group').replace(/\.group$/, '')}.inbox`
  const { table, retentionMs } = consumer.inbox
  const partitions = (
    await Promise.all(
      topics.map(async (topic) =>
        (await admin.fetchTopicOffsets(topic)).map((p) => ({ topic, partition: p.partition })),
      ),
    )
  ).flat()
  const size = await readInboxSize(sql, table, partitions)
  const horizon = await readInboxHorizon(sql, table, consumer.inbox.horizon ?? defaultHorizonOf(table))
  const prunedBefore = horizon.reduce<Date | null>(
    (latest, h) => (latest === null || h.prunedBefore > latest ? h.prunedBefore : latest),
    null,
  )
  const retentions = await topicRetentions(admin, topics)
  const data = {
    rowsEstimate: size.rowsEstimate,
    oldest: size.oldestConsumedAt,
    prunedBefore,
    horizon,
    retentions,
  }
  const detail = [
    `about ${size.rowsEstimate.toLocaleString('en')} rows`,
    size.oldestConsumedAt ? `oldest ${size.oldestConsumedAt.toISOString()}` : 'empty',
    prunedBefore ? `pruned up to ${prunedBefore.toISOString()}` : 'never pruned',
    `INBOX_RETENTION ${retentionMs === null ? 'off' : retentionText(retentionMs)}`,
  ].join(', ')
  if (retentionMs === null)
    return finding(check, 'warn', detail, 'INBOX_RETENTION=off: the inbox grows for ever', data)
  const longer = retentions.filter((r) => r.retentionMs < 0 || r.retentionMs > retentionMs)
  if (longer.length > 0)
    return finding(
      check,
      'warn',
      `${detail}; ${longer.map((r) => `${r.topic} keeps ${retentionText(r.retentionMs)}`).join(', ')}`,
      'a row stays until its records have left the topic, so the inbox holds the topics’ retention: lower TOPIC_RETENTION_MS (topic config retention.ms), or raise INBOX_RETENTION to say so',
      data,
    )
  return finding(check, 'ok', detail, undefined, data)
}

/**
 * Each consumer's inbox, when its target names one: a check of its own, so a database that cannot
 * be read fails here with a database hint, not the Kafka check's lag and dead-letter findings.
 */
export const inboxCheck: DoctorCheck = {
  name: 'inbox',
  hintWhenUnreachable: 'is Postgres up, and the schema migrated?',
  async run({ kafka, sql }, t) {
    const inboxes = t.consumers.filter((c) => c.inbox)
    if (inboxes.length === 0) return []
    const admin = kafka.admin()
    await admin.connect()
    try {
      const all = (await admin.listTopics()).filter((name) => isEventTopicOf(t.namespace, name))
      const findings: Finding[] = []
      for (const consumer of inboxes) {
        const inbox = consumer.inbox as NonNullable<ConsumerTarget['inbox']>
        const topics = consumer.topics ? consumer.topics.filter((topic) => all.includes(topic)) : all
        try {
          findings.push(await inboxFinding(sql, admin, topics, { ...consumer, inbox }))
          const parked = await parkedKeysFinding(
            sql,
            admin,
            consumer,
            inbox.parkedLetters ?? besideInbox(inbox.table, defaultParkedLetters),
            t,
          )
          if (parked) findings.push(parked)
        } catch (error) {
          findings.push(
            finding(
              `${(consumer.check ?? 'consumer.group').replace(/\.group$/, '')}.inbox`,
              'fail',
              `could not read the inbox ${typeof inbox.table === 'string' ? inbox.table : `${inbox.table.schema}.${inbox.table.table}`}: ${(error as Error).message}`,
              "is Postgres up, and the schema migrated (the toolkit's migration 2 adds the horizon table)?",
            ),
          )
        }
      }
      return findings
    } finally {
      await admin.disconnect()
    }
  },
}

/** Each topic's `retention.ms` as the broker has it. */
async function topicRetentions(admin: Admin, topics: string[]) {
  if (topics.length === 0) return []
  const described = await admin.describeConfigs({
    resources: topics.map((name) => ({ type: 2, name, configNames: ['retention.ms'] })),
    includeSynonyms: false,
  })
  return described.resources.map((r) => ({
    topic: r.resourceName,
    retentionMs: Number(r.configEntries.find((e) => e.configName === 'retention.ms')?.configValue ?? -1),
  }))
}
