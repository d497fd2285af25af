import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { repoRoot } from '../../stack/lib/config.ts'
import { type Rig, startRig } from '../rig.ts'
import { seededRandom, tally, waitConverged, writeLoad } from './load.ts'

/**
 * The outbox's promise under real crashes: during a stream of API writes, one process of the
 * pipeline is SIGKILLed (or kept down) at a random moment; afterwards every committed write's
 * event must be applied exactly once in the read model. Sizes come from the environment, so CI
 * runs the same scenarios smaller (see package.json: test:faults and test:faults:ci).
 */
const writes = Number(process.env.FAULT_WRITES ?? 5000)
const kafkaOutageMs = Number(process.env.FAULT_KAFKA_OUTAGE_MS ?? 30_000)
const connectOutageMs = Number(process.env.FAULT_CONNECT_OUTAGE_MS ?? 120_000)
const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000)
const random = seededRandom(seed)

interface Row {
  scenario: string
  writesCommitted: number
  eventsApplied: number
  duplicatesSkipped: number
  rejected: number
  lost: number
  doubleApplied: number
  seconds: number
}

describe.sequential(`fault injection (${writes} writes per scenario, seed ${seed})`, () => {
  let rig: Rig
  const rows: Row[] = []

  beforeAll(async () => {
    rig = await startRig({ consumers: 2 })
  }, 300_000)

  afterAll(async () => {
    console.table(rows)
    writeFileSync(
      join(repoRoot, 'test', 'faults', 'last-run.json'),
      `${JSON.stringify({ writes, seed, kafkaOutageMs, connectOutageMs, at: new Date().toISOString(), rows }, null, 2)}\n`,
    )
    await rig?.stop()
  }, 120_000)

  /**
   * Runs the write stream, calls `fault` once a random 20–60% of it is through, waits for the
   * pipeline to catch up, and checks the read model against the tables.
   */
  async function scenario(name: string, fault: () => Promise<void>, options: { spreadOverMs?: number } = {}) {
    const started = performance.now()
    const before = await tally(rig.sql)
    const trigger = Math.floor(writes * (0.2 + random() * 0.4))
    let injected: Promise<void> | undefined
    const load = await writeLoad(rig.apiUrl, writes, {
      concurrency: 8,
      random,
      ...(options.spreadOverMs ? { ratePerS: writes / (options.spreadOverMs / 1000) } : {}),
      onProgress: (done) => {
        if (!injected && done >= trigger) injected = fault()
      },
    })
    await injected
    expect(load.gaveUp, 'writes whose outcome is unknown').toBe(0)
    const after = await waitConverged(rig.sql, 300_000)
    const row: Row = {
      scenario: name,
      writesCommitted: after.committed - before.committed,
      eventsApplied: after.applied - before.applied,
      duplicatesSkipped: after.duplicatesSkipped - before.duplicatesSkipped,
      rejected: load.rejected,
      lost: after.committed - after.applied,
      doubleApplied: after.overCounted,
      seconds: Math.round((performance.now() - started) / 1000),
    }
    rows.push(row)
    expect(row.writesCommitted, 'every acknowledged write is committed').toBe(load.ok)
    expect(row.lost, 'committed writes whose event was never applied').toBe(0)
    expect(row.eventsApplied, 'events applied, none from a rejected request').toBe(row.writesCommitted)
    expect(row.doubleApplied, 'copies counted twice in the read model').toBe(0)
    expect(after.mismatchedBooks).toBe(0)
    expect(load.rejected).toBeGreaterThan(0)
  }

  const killAndRestart = (name: string, downMs: number) => async () => {
    await rig.kill(name)
    await delay(downMs)
    await rig.restart(name)
  }

  it('a consumer is SIGKILLed; the other member takes its partitions until it is back', async () => {
    await scenario('consumer SIGKILL', killAndRestart('consumer-1', 2000))
  })

  it('the Kafka Connect worker is SIGKILLed and restarted', async () => {
    await scenario('connect SIGKILL', killAndRestart('connect', 1000))
    expect(await rig.connectorHealthy()).toBe(true)
  })

  it('the Kafka broker is SIGKILLed and restarted', async () => {
    await scenario('kafka SIGKILL', killAndRestart('kafka', 1000))
  })

  it('PostgreSQL is SIGKILLed and restarted (crash recovery)', async () => {
    await scenario('postgres SIGKILL', killAndRestart('postgres', 1000))
  })

  it('the API process is SIGKILLed and restarted', async () => {
    await scenario('api SIGKILL', killAndRestart('api', 500))
  })

  it('Kafka is down for a while as the API keeps accepting writes', async () => {
    await scenario(`kafka down ${kafkaOutageMs / 1000} s`, killAndRestart('kafka', kafkaOutageMs), {
      spreadOverMs: kafkaOutageMs * 2,
    })
  })

  it('Connect is down for minutes while writes continue', async () => {
    await scenario(`connect down ${connectOutageMs / 1000} s`, killAndRestart('connect', connectOutageMs), {
      spreadOverMs: connectOutageMs * 1.5,
    })
    expect(await rig.connectorHealthy()).toBe(true)
  })
})
