import type { Kafka } from 'kafkajs'
import type postgres from 'postgres'
import type { ConnectClient } from '../lib/connect-client.ts'
import { deadLetterTopic } from '../lib/events.ts'
import { unownedSlots } from './slot-backlog.ts'
import { humanBytes, listSlots } from './slots.ts'

export type Severity = 'ok' | 'warn' | 'fail'

export interface Finding {
  check: string
  severity: Severity
  detail: string
  /** What to do about it, for anything not ok. */
  hint?: string
  data?: unknown
}

export interface DoctorTargets {
  connectorName: string
  slotName: string
  publication: string
  namespace: string
  consumerGroup: string
  /** Retained WAL above this is a failure (the slot is on its way to max_slot_wal_keep_size). */
  maxSlotRetainedBytes: number
  /** Unconsumed records above this are a failure. */
  maxConsumerLag: number
  /** A domain write older than this without a matching applied event means events are stuck. */
  staleAfterS: number
}

export interface DoctorDeps {
  /** A role that may read pg_replication_slots fully and the application tables. */
  sql: postgres.Sql
  connect: ConnectClient
  kafka: Kafka
}

const finding = (
  check: string,
  severity: Severity,
  detail: string,
  hint?: string,
  data?: unknown,
): Finding => ({
  check,
  severity,
  detail,
  ...(hint ? { hint } : {}),
  ...(data === undefined ? {} : { data }),
})

/** Never lets one broken component hide the others: a check that throws becomes a failure. */
async function safely(check: string, hint: string, run: () => Promise<Finding[]>): Promise<Finding[]> {
  try {
    return await run()
  } catch (error) {
    return [finding(check, 'fail', `could not check: ${(error as Error).message}`, hint)]
  }
}

async function postgresChecks({ sql }: DoctorDeps, t: DoctorTargets): Promise<Finding[]> {
  const out: Finding[] = []
  const [wal] = await sql<{ wal_level: string }[]>`show wal_level`
  out.push(
    wal?.wal_level === 'logical'
      ? finding('postgres.wal_level', 'ok', 'logical')
      : finding(
          'postgres.wal_level',
          'fail',
          `wal_level is ${wal?.wal_level}`,
          'set wal_level=logical and restart Postgres',
        ),
  )
  const tables = await sql<
    { t: string }[]
  >`select schemaname || '.' || tablename as t from pg_publication_tables where pubname = ${t.publication} order by 1`
  const names = tables.map((row) => row.t)
  out.push(
    names.includes('public.outbox')
      ? finding('postgres.publication', 'ok', `${t.publication}: ${names.join(', ')}`, undefined, names)
      : finding(
          'postgres.publication',
          'fail',
          `${t.publication} does not publish public.outbox`,
          'run npm run db:migrate',
          names,
        ),
  )
  const slot = (await listSlots(sql)).find((s) => s.slotName === t.slotName)
  if (!slot) {
    out.push(
      finding(
        'postgres.slot',
        'fail',
        `no replication slot ${t.slotName}`,
        'npm run connector:register (the connector creates its slot)',
      ),
    )
  } else {
    const lag = `${humanBytes(slot.retainedBytes)} retained, wal_status ${slot.walStatus}`
    if (slot.walStatus === 'lost') {
      out.push(
        finding(
          'postgres.slot',
          'fail',
          `${t.slotName} is lost: ${lag}`,
          'the WAL it needed is gone; events in it were never delivered — drop and re-register',
          slot,
        ),
      )
    } else if (!slot.active) {
      out.push(
        finding(
          'postgres.slot',
          'fail',
          `${t.slotName} is inactive (${lag}): nothing streams from it and WAL piles up`,
          'check the connector below; npm run connector:status',
          slot,
        ),
      )
    } else if ((slot.retainedBytes ?? 0) > t.maxSlotRetainedBytes) {
      out.push(
        finding(
          'postgres.slot',
          'fail',
          `${t.slotName} lags: ${lag}`,
          'the connector is not keeping up or the heartbeat is off; see npm run slots:list',
          slot,
        ),
      )
    } else out.push(finding('postgres.slot', 'ok', `${t.slotName} active, ${lag}`, undefined, slot))
  }
  return out
}

async function connectChecks({ connect }: DoctorDeps, t: DoctorTargets): Promise<Finding[]> {
  const status = await connect.status(t.connectorName)
  if (!status)
    return [
      finding('connect.connector', 'fail', `no connector ${t.connectorName}`, 'npm run connector:register'),
    ]
  const parts = [status.connector, ...status.tasks]
  const failed = parts.find((part) => part.state === 'FAILED')
  if (failed) {
    const trace = (failed.trace ?? '').split('\n').slice(0, 15).join('\n')
    return [
      finding(
        'connect.connector',
        'fail',
        `${t.connectorName} FAILED:\n${trace}`,
        'fix the cause in the trace, then npm run connector:restart',
        status,
      ),
    ]
  }
  if (parts.some((part) => part.state === 'PAUSED')) {
    return [
      finding(
        'connect.connector',
        'fail',
        `${t.connectorName} is PAUSED: no events leave the outbox`,
        'npm run connector:resume',
        status,
      ),
    ]
  }
  if (status.tasks.length === 0 || parts.some((part) => part.state !== 'RUNNING')) {
    return [
      finding(
        'connect.connector',
        'fail',
        `${t.connectorName}: ${parts.map((p) => p.state).join(', ') || 'no tasks'}`,
        'npm run connector:status',
        status,
      ),
    ]
  }
  return [
    finding(
      'connect.connector',
      'ok',
      `${t.connectorName} and ${status.tasks.length} task(s) RUNNING`,
      undefined,
      status,
    ),
  ]
}

/** A slot nobody owns pins WAL for ever, and lets whoever holds it read what it decodes. */
async function unownedSlotsCheck({ sql, connect }: DoctorDeps): Promise<Finding[]> {
  const names = await unownedSlots(sql, connect)
  if (names.length === 0)
    return [finding('postgres.unowned-slots', 'ok', 'every replication slot here belongs to a connector')]
  return [
    finding(
      'postgres.unowned-slots',
      'fail',
      `no connector owns ${names.join(', ')}: each keeps WAL until dropped, and can decode the tables it covers`,
      `if nothing of yours reads them: ${names.map((n) => `npm run slots:drop -- ${n}`).join('; ')}`,
      names,
    ),
  ]
}

async function kafkaChecks({ kafka }: DoctorDeps, t: DoctorTargets): Promise<Finding[]> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const out: Finding[] = []
    const all = await admin.listTopics()
    const topics = all.filter((name) => name.startsWith(`${t.namespace}.`)).sort()
    if (topics.length === 0)
      return [
        finding(
          'kafka.topics',
          'fail',
          `no ${t.namespace}.* topics`,
          'npm run connector:register creates them',
        ),
      ]
    const meta = await admin.fetchTopicMetadata({ topics })
    out.push(
      finding(
        'kafka.topics',
        'ok',
        meta.topics.map((m) => `${m.name} (${m.partitions.length} partitions)`).join(', '),
      ),
    )

    const lags: { topic: string; partition: number; lag: number }[] = []
    for (const topic of topics) {
      const [ends, committed] = await Promise.all([
        admin.fetchTopicOffsets(topic),
        admin.fetchOffsets({ groupId: t.consumerGroup, topics: [topic] }),
      ])
      const at = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? [])
      for (const end of ends) {
        const position = Math.max(at.get(end.partition) ?? -1, Number(end.low))
        lags.push({ topic, partition: end.partition, lag: Number(end.high) - position })
      }
    }
    const total = lags.reduce((sum, l) => sum + l.lag, 0)
    const [group] = (await admin.describeGroups([t.consumerGroup])).groups
    const members = group?.members.length ?? 0
    const detail = `group ${t.consumerGroup}: ${members} member(s), lag ${total} (${lags.map((l) => `${l.topic}[${l.partition}]=${l.lag}`).join(' ')})`
    if (members === 0 && total > 0)
      out.push(
        finding(
          'consumer.group',
          'fail',
          `${detail}: nobody is consuming`,
          'start the consumer (npm run consumer, or npm start)',
          lags,
        ),
      )
    else if (total > t.maxConsumerLag)
      out.push(
        finding(
          'consumer.group',
          'fail',
          `${detail}: above ${t.maxConsumerLag}`,
          'the consumer is falling behind: add members (same CONSUMER_GROUP) or look at its retries',
          lags,
        ),
      )
    else out.push(finding('consumer.group', 'ok', detail, undefined, lags))

    const dlq = deadLetterTopic(t.namespace)
    const depth = all.includes(dlq)
      ? (await admin.fetchTopicOffsets(dlq)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)
      : 0
    out.push(
      depth > 0
        ? finding(
            'consumer.dead-letters',
            'warn',
            `${depth} dead letter(s) in ${dlq}`,
            'npm run dlq:list, fix the cause, npm run dlq:redrive',
            { depth },
          )
        : finding('consumer.dead-letters', 'ok', `none in ${dlq}`, undefined, { depth }),
    )
    return out
  } finally {
    await admin.disconnect()
  }
}

async function freshnessCheck({ sql }: DoctorDeps, t: DoctorTargets): Promise<Finding[]> {
  const [row] = await sql<{ written: Date | null; applied: Date | null }[]>`
    select greatest((select max(updated_at) from books), (select max(created_at) from orders)) as written,
           (select max(consumed_at) from consumed_events) as applied`
  if (!row?.written) return [finding('pipeline.freshness', 'ok', 'nothing written yet')]
  const ageS = (Date.now() - row.written.getTime()) / 1000
  const behindS = row.applied
    ? (row.written.getTime() - row.applied.getTime()) / 1000
    : Number.POSITIVE_INFINITY
  const detail = `newest write ${row.written.toISOString()}, newest applied event ${row.applied?.toISOString() ?? 'none'}`
  if (behindS > 0 && ageS > t.staleAfterS) {
    return [
      finding(
        'pipeline.freshness',
        'fail',
        `${detail}: a write ${Math.round(ageS)} s old is not applied yet`,
        'follow the first failing check above',
        row,
      ),
    ]
  }
  return [finding('pipeline.freshness', 'ok', detail, undefined, row)]
}

/** The whole pipeline in one report: Postgres, Connect, Kafka and the consumer, in that order. */
export async function runDoctor(
  deps: DoctorDeps,
  targets: DoctorTargets,
): Promise<{ ok: boolean; findings: Finding[] }> {
  const findings = [
    ...(await safely('postgres', 'is Postgres up? npm run stack:status', () =>
      postgresChecks(deps, targets),
    )),
    ...(await safely('connect.worker', 'is Kafka Connect up? npm run stack:status', () =>
      connectChecks(deps, targets),
    )),
    ...(await safely('postgres.unowned-slots', 'are Postgres and Connect up? npm run stack:status', () =>
      unownedSlotsCheck(deps),
    )),
    ...(await safely('kafka', 'is Kafka up? npm run stack:status', () => kafkaChecks(deps, targets))),
    ...(await safely('pipeline.freshness', 'run npm run db:migrate', () => freshnessCheck(deps, targets))),
  ]
  return { ok: findings.every((f) => f.severity !== 'fail'), findings }
}
