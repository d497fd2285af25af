import { request } from 'undici'
import { waitUntil } from '../../lib/wait-until.ts'
import type { Rig } from '../../stack/rig.ts'

const connectorName = (rig: Rig) => rig.connectorEnv.CONNECTOR_NAME

/** Sets the connector's poll.interval.ms (a PUT of its config) and waits until it runs again. */
export async function setConnectorPollInterval(rig: Rig, intervalMs: number) {
  await rig.reconfigureConnector({ CONNECTOR_POLL_INTERVAL_MS: String(intervalMs) })
}

/** Pauses the connector and waits until Connect reports it and its tasks PAUSED. */
export async function pauseConnector(rig: Rig) {
  await rig.connect.pause(connectorName(rig))
  await rig.connect.waitForState(connectorName(rig), 'PAUSED', 60_000)
}

/** Resumes the connector and waits until it and its tasks are RUNNING. */
export async function resumeConnector(rig: Rig) {
  await rig.connect.resume(connectorName(rig))
  await rig.connect.waitForState(connectorName(rig), 'RUNNING', 60_000)
}

/** The connector's source offsets as Connect stores them (GET /connectors/<name>/offsets), as JSON text. */
export async function sourceOffsets(rig: Rig): Promise<string> {
  const url = `${rig.info.connect.url.replace(/\/+$/, '')}/connectors/${encodeURIComponent(connectorName(rig))}/offsets`
  const response = await request(url, { headers: { accept: 'application/json' } })
  const text = await response.body.text()
  if (response.statusCode !== 200) throw new Error(`GET ${url} answered ${response.statusCode}: ${text}`)
  return JSON.stringify(JSON.parse(text))
}

/**
 * The source offsets of a paused connector once they stop moving: records polled just before
 * the pause may still be flushed (every second on this worker), so they are read until they are
 * the same for `quietS` seconds.
 */
export async function settledSourceOffsets(rig: Rig, quietS = 3, timeoutS = 60): Promise<string> {
  let last: string | undefined
  let since = performance.now()
  return waitUntil(
    `the paused connector's source offsets to stay the same for ${quietS} s`,
    async () => {
      const now = await sourceOffsets(rig)
      if (now !== last) {
        last = now
        since = performance.now()
        return undefined
      }
      return performance.now() - since >= quietS * 1000 && now
    },
    { timeoutMs: timeoutS * 1000, intervalMs: 250, progress: () => 'they kept moving' },
  )
}
