import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aggregateTypes, topicFor } from '../../lib/events.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import { type Rig, startRig } from '../../stack/rig.ts'
import { loadBookStock, seededRandom } from './load.ts'
import { scenarioRunner } from './scenario.ts'
import type { FaultRow } from './table.ts'

/**
 * The saga's promise under crashes: during a stream of orders (some above their book's warehouse
 * capacity, so both outcomes happen), the fulfilment service or the order service's consumer is
 * SIGKILLed in the middle of the flow, several times. Afterwards every committed order is
 * fulfilled or cancelled and never both, each cancellation returned its stock exactly once, the
 * stock is the initial stock minus the copies of the orders not cancelled, and no event was
 * applied twice on either side (both read models and both inboxes checked by id).
 */
const writes = Number(process.env.FAULT_WRITES ?? 5000)
const kills = Number(process.env.FAULT_SAGA_KILLS ?? 3)
const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000)
const random = seededRandom(seed)
const resultFile = process.env.FAULT_SAGA_RESULT_FILE ?? join('test', 'faults', 'saga-last-run.json')
const group = 'outbox-cdc-consumer'
const eventTopics = aggregateTypes.map((type) => topicFor(type))

describe.sequential(`saga fault injection (${writes} writes per scenario, seed ${seed})`, () => {
  let rig: Rig
  const rows: FaultRow[] = []

  beforeAll(async () => {
    rig = await startRig({ consumers: 1, fulfilment: true, name: 'saga' })
  }, 300_000)

  afterAll(async () => {
    console.table(rows)
    mkdirSync(dirname(join(repoRoot, resultFile)), { recursive: true })
    writeFileSync(
      join(repoRoot, resultFile),
      `${JSON.stringify({ writes, seed, kills, at: new Date().toISOString(), rows }, null, 2)}\n`,
    )
    await rig?.stop()
  }, 120_000)

  const scenario = scenarioRunner({
    rig: () => rig,
    random,
    writes,
    rows,
    group,
    eventTopics,
    saga: {
      initialStock: loadBookStock,
      fulfilmentGroup: 'outbox-cdc-fulfilment',
      orderTopic: topicFor('order'),
    },
  })

  /** SIGKILLs `name` `kills` times, a few seconds apart while the writes go on, each time restarted after 1 s. */
  const killRepeatedly = (name: string) => async () => {
    for (let k = 0; k < kills; k += 1) {
      await rig.kill(name)
      await delay(1000)
      await rig.restart(name)
      await delay(3000 + random() * 4000)
    }
    return undefined
  }

  it('the fulfilment service is SIGKILLed mid-flow, again and again; every order still ends once', async () => {
    const row = await scenario(`fulfilment SIGKILL ×${kills}`, killRepeatedly('fulfilment'), {
      spreadOverMs: kills * 8000 + 10_000,
      triggerBetween: [0.1, 0.3],
    })
    expect(row.stuck).toBe(0)
    expect(row.sagaWrong).toBe(0)
  })

  it('the order service consumer is SIGKILLed mid-flow, again and again; every order still ends once', async () => {
    const row = await scenario(`order consumer SIGKILL ×${kills}`, killRepeatedly('consumer-1'), {
      spreadOverMs: kills * 8000 + 10_000,
      triggerBetween: [0.1, 0.3],
    })
    expect(row.stuck).toBe(0)
    expect(row.sagaWrong).toBe(0)
  })
})
