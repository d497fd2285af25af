import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { aggregateTypes, topicFor } from '../../lib/events.ts'
import { type Rig, startRig } from '../../stack/rig.ts'
import { type InboxTable, killWithUncommittedWork, waitGroupComplete } from './consumer-kill.ts'
import { loadBookStock, seededRandom } from './load.ts'
import { scenarioRunner } from './scenario.ts'
import { type FaultRow, writeFaultRun } from './table.ts'

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
// A relative path, under the repository (as the other suites' result files).
const group = 'outbox-cdc-consumer'
const fulfilmentGroup = 'outbox-cdc-fulfilment'
const eventTopics = aggregateTypes.map((type) => topicFor(type))

describe.sequential(`saga fault injection (${writes} writes per scenario, seed ${seed})`, () => {
  let rig: Rig
  const rows: FaultRow[] = []

  beforeAll(async () => {
    // Small batches (as in the consumer-kill scenario): a fetch is then applied in several
    // transactions and committed to Kafka only at its end, so a kill can land between the two.
    rig = await startRig({
      consumers: 1,
      fulfilment: true,
      name: 'saga',
      consumerEnv: { 'consumer-1': { CONSUMER_BATCH_SIZE: '5' }, fulfilment: { CONSUMER_BATCH_SIZE: '5' } },
    })
  }, 300_000)

  afterAll(async () => {
    writeFaultRun(resultFile, { writes, seed, kills }, rows)
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
      fulfilmentGroup,
      orderTopic: topicFor('order'),
    },
  })

  /**
   * SIGKILLs `name` `kills` times while it holds applied but uncommitted work (frozen, then caught
   * mid-fetch: see killWithUncommittedWork), each time restarted after 2 s once its group is whole
   * again: every kill provably makes Kafka redeliver what its inbox already holds.
   */
  const killRepeatedly = (name: string, groupId: string, inbox: InboxTable) => async () => {
    const one = { ...rig, consumerNames: [name] }
    let uncommitted = 0
    for (let k = 0; k < kills; k += 1) {
      if (k > 0) await waitGroupComplete(one, rig.kafka, groupId, 120_000)
      const kill = await killWithUncommittedWork(one, rig.kafka, rig.sql, groupId, random, { inbox })
      console.log(
        `[saga] killed ${name} holding ${kill.uncommitted} uncommitted record(s) (try ${kill.attempts})`,
      )
      uncommitted += kill.uncommitted
      await delay(2000)
      await rig.restart(name)
    }
    return { uncommittedAtKill: uncommitted }
  }

  const victims = [
    {
      who: 'the fulfilment service',
      label: 'fulfilment',
      name: 'fulfilment',
      groupId: fulfilmentGroup,
      inbox: 'fulfilment_inbox',
    },
    {
      who: 'the order service consumer',
      label: 'order consumer',
      name: 'consumer-1',
      groupId: group,
      inbox: 'consumed_events',
    },
  ] as const

  for (const v of victims) {
    it(`${v.who} is SIGKILLed mid-flow, again and again; every order still ends once`, async () => {
      const row = await scenario(`${v.label} SIGKILL ×${kills}`, killRepeatedly(v.name, v.groupId, v.inbox), {
        spreadOverMs: kills * 60_000,
        writes: Math.max(writes, 3000),
        triggerBetween: [0.1, 0.2],
      })
      expect(row.stuck).toBe(0)
      expect(row.sagaWrong).toBe(0)
      expect(row.longestSettleMs, 'orders waited out the kills').toBeGreaterThan(1000)
      expect(row.uncommittedAtKill, 'the kills hit applied but uncommitted records').toBeGreaterThan(0)
      expect(row.sagaDuplicatesSkipped, 'that work was redelivered and skipped').toBeGreaterThan(0)
    })
  }
})
