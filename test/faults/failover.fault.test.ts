import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { aggregateTypes, topicFor } from '../../lib/events.ts'
import { repoRoot } from '../../stack/lib/config.ts'
import { type Rig, startRig } from '../../stack/rig.ts'
import {
  activeController,
  kafkaNodeNames,
  restoreCluster,
  taskWorker,
  waitTaskMoved,
} from '../../stack/rig-cluster.ts'
import { seededRandom } from './load.ts'
import { scenarioRunner } from './scenario.ts'
import type { FaultRow } from './table.ts'

/**
 * The production shape: three Kafka nodes (every topic on three replicas, min.insync.replicas 2)
 * and two Connect workers, with nodes lost for good. In each scenario a node or worker is
 * SIGKILLed during a stream of API writes and stays dead until the scenario is judged (nothing
 * lost, nothing applied twice, every event by id); only then is the cluster made whole for the
 * next. Everything runs twice: at-least-once, and with exactly-once source delivery (KIP-618).
 * FAULT_FAILOVER_MODES and FAULT_FAILOVER_SCENARIOS pick a subset (CI runs one scenario).
 */
const writes = Number(process.env.FAULT_WRITES ?? 5000)
const seed = Number(process.env.FAULT_SEED ?? Date.now() % 100_000)
const random = seededRandom(seed)
const modes = (process.env.FAULT_FAILOVER_MODES ?? 'at-least-once,exactly-once').split(',')
const picked = process.env.FAULT_FAILOVER_SCENARIOS?.split(',')
const runs = (scenario: string) => !picked || picked.includes(scenario)
const resultFile = process.env.FAULT_FAILOVER_RESULT_FILE ?? join('test', 'faults', 'failover-last-run.json')
const group = 'outbox-cdc-consumer'
const eventTopics = aggregateTypes.map((type) => topicFor(type))
const rows: FaultRow[] = []

describe.sequential.each(modes)(
  `failover, 3 Kafka nodes and 2 Connect workers, %s (${writes} writes, seed ${seed})`,
  (mode) => {
    const exactlyOnce = mode === 'exactly-once'
    let rig: Rig
    const scenario = scenarioRunner({ rig: () => rig, random, writes, rows, group, eventTopics })

    beforeAll(async () => {
      rig = await startRig({
        consumers: 2,
        kafkaNodes: 3,
        connectWorkers: 2,
        exactlyOnce,
        name: `failover-${mode}`,
      })
    }, 300_000)

    // The next scenario starts from a whole cluster: every node and worker back, every replica in sync.
    afterEach(async () => {
      await restoreCluster(rig)
    }, 300_000)

    afterAll(async () => {
      mkdirSync(dirname(join(repoRoot, resultFile)), { recursive: true })
      writeFileSync(
        join(repoRoot, resultFile),
        `${JSON.stringify({ writes, seed, kafkaNodes: 3, connectWorkers: 2, at: new Date().toISOString(), rows }, null, 2)}\n`,
      )
      await rig?.stop()
    }, 120_000)

    it.runIf(runs('broker'))(
      'a broker is SIGKILLed and not restarted: writes and delivery go on',
      async () => {
        const row = await scenario(`broker SIGKILL, not restarted (${mode})`, async () => {
          // Not the controller: losing that one is the next scenario.
          const controller = activeController(rig)
          const brokers = kafkaNodeNames(rig).filter((name) => name !== controller)
          const victim = brokers[Math.floor(random() * brokers.length)] as string
          await rig.kill(victim)
          return { exactlyOnce }
        })
        expect(row.exactlyOnce).toBe(exactlyOnce)
      },
    )

    it.runIf(runs('controller'))('the active KRaft controller is SIGKILLed and not restarted', async () => {
      const row = await scenario(`active controller SIGKILL, not restarted (${mode})`, async () => {
        const controller = activeController(rig)
        if (!controller) throw new Error('no KRaft leader found in the nodes’ logs')
        await rig.kill(controller)
        return { exactlyOnce }
      })
      expect(row.exactlyOnce).toBe(exactlyOnce)
    })

    it.runIf(runs('connect-worker'))(
      'the Connect worker running the task is SIGKILLed and not restarted: the task runs on the other',
      async () => {
        const row = await scenario(`worker running the task SIGKILL, not restarted (${mode})`, async () => {
          const worker = await taskWorker(rig)
          if (!worker) throw new Error('no worker runs the task')
          await rig.kill(worker)
          return { exactlyOnce, taskMovedS: await waitTaskMoved(rig, worker, 300_000) }
        })
        expect(row.taskMovedS, 'the task moved to the surviving worker').toBeGreaterThan(0)
        // The promise of exactly-once delivery: the task's restart on the other worker re-sent
        // nothing a read_committed consumer reads (at-least-once re-sends up to a second of events).
        if (exactlyOnce) expect(row.duplicatesInKafka, 'records Kafka holds twice').toBe(0)
      },
    )
  },
)
