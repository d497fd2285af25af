import { ensureBookstoreTopics } from '../../connector/topics.ts'
import {
  pauseConnector,
  resumeConnector,
  setConnectorPollInterval,
  settledSourceOffsets,
  sourceOffsets,
} from '../measurement/connector-control.ts'
import { ratio } from '../measurement/stats.ts'
import { installRelayTable, removeRelayTable, stopCopyingToRelay } from '../relay/polling-relay.ts'
import { startRelayProcess } from '../relay/relay-child.ts'
import { recordsIn, waitForRecords, writeOutboxEvents } from '../workloads/throughput.ts'
import type { BenchContext } from './context.ts'

const drainNamespace = 'relay.drain'

/**
 * How fast each publisher empties a backlog into Kafka, at each poll interval with the same batch
 * size (the relay's batch is the connector's max.batch.size). CDC: the backlog is written while
 * the connector is PAUSED, its source offsets checked unmoved until the resume (the phase fails
 * if they moved: the connector would have read part of the backlog early), then timed from the
 * resume until all of it is in Kafka. The relay: its table filled while it waits, connected, in
 * a process of its own, then timed from its first poll. The consumers are stopped meanwhile.
 */
export async function publishPhase({ rig, bookIds, settings, say }: BenchContext) {
  const count = settings.publishEvents
  const batchSize = rig.connectorEnv.CONNECTOR_MAX_BATCH_SIZE
  say(
    `publish: a backlog of ${count} events, CDC and the relay at each poll interval, batches of ${batchSize}`,
  )
  for (const name of rig.consumerNames) await rig.kill(name)
  const admin = rig.kafka.admin()
  await admin.connect()
  await ensureBookstoreTopics(admin, drainNamespace, 3)
  const cdcPerS: Record<string, number> = {}
  const relayPerS: Record<string, number> = {}
  try {
    for (const intervalMs of settings.relayIntervalsMs) {
      await setConnectorPollInterval(rig, intervalMs)
      await pauseConnector(rig)
      const offsets = await settledSourceOffsets(rig)
      const cdcBefore = await recordsIn(admin, 'outbox.events')
      await writeOutboxEvents(rig.sql, bookIds, count)
      const offsetsNow = await sourceOffsets(rig)
      const recordsNow = await recordsIn(admin, 'outbox.events')
      if (offsetsNow !== offsets || recordsNow !== cdcBefore)
        throw new Error(
          `the connector moved while PAUSED (source offsets ${offsets} → ${offsetsNow}, ${recordsNow - cdcBefore} records published): the backlog timing would be wrong`,
        )
      const resumed = performance.now()
      await rig.connect.resume(rig.connectorEnv.CONNECTOR_NAME)
      await waitForRecords(admin, 'outbox.events', cdcBefore + count)
      cdcPerS[String(intervalMs)] = Math.round(count / ((performance.now() - resumed) / 1000))
      await rig.connect.waitForState(rig.connectorEnv.CONNECTOR_NAME, 'RUNNING', 60_000)

      // The relay's backlog, written while the connector is paused again so it does not compete.
      await pauseConnector(rig)
      await installRelayTable(rig.sql)
      await writeOutboxEvents(rig.sql, bookIds, count)
      await stopCopyingToRelay(rig.sql)
      const relay = await startRelayProcess({
        databaseUrl: rig.info.postgres.url,
        brokers: rig.info.kafka.brokers,
        intervalMs,
        batchSize,
        namespace: drainNamespace,
      })
      try {
        const before = await recordsIn(admin, drainNamespace)
        const started = performance.now()
        relay.go()
        await waitForRecords(admin, drainNamespace, before + count)
        relayPerS[String(intervalMs)] = Math.round(count / ((performance.now() - started) / 1000))
      } finally {
        await relay.stop()
        await removeRelayTable(rig.sql)
      }
      await resumeConnector(rig)
      say(
        `  every ${intervalMs} ms: CDC ${cdcPerS[String(intervalMs)]}/s, relay ${relayPerS[String(intervalMs)]}/s`,
      )
    }
  } finally {
    await setConnectorPollInterval(rig, rig.connectorEnv.CONNECTOR_POLL_INTERVAL_MS)
    await admin.disconnect()
    for (const name of rig.consumerNames) await rig.restart(name)
  }
  const ratios = Object.fromEntries(Object.entries(relayPerS).map(([k, v]) => [k, ratio(cdcPerS[k] ?? 0, v)]))
  return { events: count, batchSize, cdcPerS, relayPerS, cdcToRelay: ratios, offsetsChecked: true }
}
