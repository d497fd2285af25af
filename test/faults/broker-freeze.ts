import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { unlessTimedOut, waitUntil } from '../../lib/wait-until.ts'
import { readRecord } from '../../stack/lib/processes.ts'
import type { Rig } from '../../stack/rig.ts'

/** One answer of a consumer's `/health`: 0 when it did not answer at all. */
export interface HealthSample {
  atMs: number
  status: number
  state?: string
  reason?: string
}

async function sampleHealth(url: string, since: number): Promise<HealthSample> {
  const atMs = Math.round(performance.now() - since)
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) })
    const body = (await response.json()) as { state?: string; reason?: string }
    return { atMs, status: response.status, state: body.state, reason: body.reason }
  } catch {
    return { atMs, status: 0 }
  }
}

/**
 * Freezes the rig's Kafka broker with SIGSTOP (its whole process group: the JVM keeps its sockets
 * open and answers nothing, unlike a kill, whose connections are refused at once) for `freezeMs`,
 * sampling `healthUrl` every half second, then lets it go on with SIGCONT and keeps sampling until
 * the consumer answers 200 again (or `recoverWithinMs` passes). Returns the samples: the freeze
 * must show the consumer out of its group, and the thaw must bring it back.
 */
export async function freezeKafkaWatchingHealth(
  rig: Rig,
  options: { freezeMs: number; healthUrl: string; recoverWithinMs: number },
) {
  const record = readRecord(join(rig.stackDir, 'kafka', 'process.json'))
  if (!record) throw new Error('no process record for kafka')
  const since = performance.now()
  const during: HealthSample[] = []
  const after: HealthSample[] = []
  process.kill(-record.pid, 'SIGSTOP')
  try {
    while (performance.now() - since < options.freezeMs) {
      during.push(await sampleHealth(options.healthUrl, since))
      await delay(500)
    }
  } finally {
    process.kill(-record.pid, 'SIGCONT')
  }
  // Not back in time is the caller's finding (the samples show it), not an error here.
  await waitUntil(
    'the consumer to answer 200 again',
    async () => {
      const sample = await sampleHealth(options.healthUrl, since)
      after.push(sample)
      return sample.status === 200
    },
    { timeoutMs: options.recoverWithinMs, intervalMs: 500 },
  ).catch(unlessTimedOut)
  return { during, after }
}
