import postgres from 'postgres'
import { ensureBookstoreTopics } from '../../connector/topics.ts'
import { migrateDatabase } from '../../db/migrate.ts'
import { waitUntil } from '../../lib/wait-until.ts'
import type { Rig } from '../../stack/rig.ts'
import {
  pauseConnector,
  resumeConnector,
  setConnectorPollInterval,
} from '../measurement/connector-control.ts'
import { installRelayTable, removeRelayTable } from '../relay/polling-relay.ts'
import { startRelayProcess } from '../relay/relay-child.ts'
import type { EndToEndResult } from '../workloads/end-to-end.ts'
import type { BenchContext } from './context.ts'
import { cdcPath, type DeliveryPath, steadyRuns } from './end-to-end-phases.ts'
import { waitForGroup, waitForIdleCpu } from './settle.ts'

export const relayNamespace = 'relay.events'
const relayDatabase = 'bench_relay'

/**
 * A database of its own for the relay path's consumer, on the same server: the relay publishes
 * the same event ids CDC later publishes too (when the connector resumes), and one inbox would
 * take the second delivery for a redelivery of the first.
 */
async function openRelayInbox(rig: Rig) {
  const url = new URL(rig.info.postgres.url)
  const admin = postgres(rig.info.postgres.adminUrl, { max: 1, onnotice: () => {} })
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${relayDatabase}`
    if (!exists)
      await admin.unsafe(`create database ${relayDatabase} owner "${decodeURIComponent(url.username)}"`)
  } finally {
    await admin.end({ timeout: 5 })
  }
  url.pathname = `/${relayDatabase}`
  await migrateDatabase(url.toString())
  return { url: url.toString(), sql: postgres(url.toString(), { max: 2, onnotice: () => {} }) }
}

/** Until the relay path's consumer has applied every row the relay table holds, then the stack idle. */
async function settleRelay(
  rig: Rig,
  inbox: postgres.Sql,
  appliedBefore: number,
  say: (line: string) => void,
) {
  let behind = 0
  await waitUntil(
    'the relay path to catch up',
    async () => {
      const [queued] = await rig.sql<{ n: number }[]>`select count(*)::int as n from bench_relay_outbox`
      const [applied] = await inbox<{ n: number }[]>`
        select count(*)::int as n from consumed_events where topic like ${`${relayNamespace}.%`}`
      behind = (queued?.n ?? 0) - ((applied?.n ?? 0) - appliedBefore)
      return behind <= 0
    },
    { timeoutMs: 600_000, intervalMs: 250, progress: () => `${behind} events behind` },
  )
  const { idle, coreShare } = await waitForIdleCpu(rig.stackDir)
  if (!idle) say(`  the stack still used ${coreShare} of a core after 60 s; measuring anyway`)
}

export interface RelayComparison {
  /** The connector's poll.interval.ms and the relay's poll interval, the same. */
  intervalMs: number
  /** The connector's max.batch.size and the relay's batch, the same. */
  batchSize: number
  cdc: EndToEndResult[]
  relay: EndToEndResult[]
}

/**
 * CDC against the polling relay at equal poll intervals and batch sizes: at each interval, the
 * steady loads through CDC (connector reconfigured to poll at that interval), then the same
 * loads through the relay (a process of its own polling its table at that interval, connector
 * paused), each applied by a consumer process of its own.
 */
export async function relayPhase(ctx: BenchContext): Promise<RelayComparison[]> {
  const { rig, settings, say } = ctx
  const batchSize = rig.connectorEnv.CONNECTOR_MAX_BATCH_SIZE
  const inbox = await openRelayInbox(rig)
  const admin = rig.kafka.admin()
  await admin.connect()
  await ensureBookstoreTopics(admin, relayNamespace, 3)
  await admin.disconnect()
  rig.startConsumer('relay-consumer', {
    TOPIC_NAMESPACE: relayNamespace,
    CONSUMER_GROUP: 'bench-relay',
    DATABASE_URL: inbox.url,
  })
  await waitForGroup(rig, 'bench-relay')
  const relayPath: DeliveryPath = { label: 'relay', inbox: inbox.sql, topicPrefix: `${relayNamespace}.` }
  const comparisons: RelayComparison[] = []
  try {
    for (const intervalMs of settings.relayIntervalsMs) {
      say(`CDC and the relay, both polling every ${intervalMs} ms, batches of ${batchSize}`)
      await setConnectorPollInterval(rig, intervalMs)
      const cdc = await steadyRuns(ctx, { ...cdcPath(ctx), label: `CDC every ${intervalMs} ms:` })
      await pauseConnector(rig)
      await installRelayTable(rig.sql)
      const relay = await startRelayProcess({
        databaseUrl: rig.info.postgres.url,
        brokers: rig.info.kafka.brokers,
        intervalMs,
        batchSize,
        namespace: relayNamespace,
      })
      relay.go()
      const [before] = await inbox.sql<{ n: number }[]>`
        select count(*)::int as n from consumed_events where topic like ${`${relayNamespace}.%`}`
      try {
        const relayed = await steadyRuns(ctx, { ...relayPath, label: `relay every ${intervalMs} ms:` }, () =>
          settleRelay(rig, inbox.sql, before?.n ?? 0, say),
        )
        comparisons.push({ intervalMs, batchSize, cdc, relay: relayed })
      } finally {
        await relay.stop()
        await removeRelayTable(rig.sql)
        await resumeConnector(rig)
      }
    }
  } finally {
    await setConnectorPollInterval(rig, rig.connectorEnv.CONNECTOR_POLL_INTERVAL_MS)
    await rig.kill('relay-consumer')
    await inbox.sql.end({ timeout: 5 })
  }
  return comparisons
}
