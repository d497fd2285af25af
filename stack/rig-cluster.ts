import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isRunning } from 'outbox-cdc'
import { waitUntil } from '../lib/wait-until.ts'
import { connectWorkerPort } from './lib/config.ts'
import { connectWorkerName } from './lib/connect.ts'
import { kafkaNodeName } from './lib/kafka.ts'
import { isOurs, readRecord } from './lib/processes.ts'
import { consoleReporter } from './lib/report.ts'
import { stackUp } from './lib/stack.ts'
import type { Rig } from './rig.ts'

/**
 * What the failover scenarios need of a rig started with several Kafka nodes and Connect
 * workers: which node or worker to kill, and when the cluster is whole and the task runs again.
 */

const each = (count: number) => Array.from({ length: count }, (_, i) => i + 1)

export const kafkaNodeNames = (rig: Rig) => each(rig.config.env.STACK_KAFKA_NODES).map(kafkaNodeName)
export const connectWorkerNames = (rig: Rig) =>
  each(rig.config.env.STACK_CONNECT_WORKERS).map(connectWorkerName)

const running = (rig: Rig, name: string) => isOurs(readRecord(join(rig.stackDir, name, 'process.json')))

/** The worker (`connect`, `connect-2`…) that runs the connector's task, if one does. */
export async function taskWorker(rig: Rig): Promise<string | undefined> {
  const status = await rig
    .liveConnect()
    .status(rig.connectorEnv.CONNECTOR_NAME)
    .catch(() => undefined)
  const task = status?.tasks[0]
  if (task?.state !== 'RUNNING') return undefined
  const port = Number(task.worker_id.split(':').at(-1))
  const worker = port - connectWorkerPort(rig.config.env, 1) + 1
  return worker >= 1 ? connectWorkerName(worker) : undefined
}

/**
 * The node that leads the KRaft quorum now: the live node whose log shows the latest election it
 * won (`Completed transition to Leader(… epoch=E …)`, highest E). The broker's metadata answer
 * cannot tell: in KRaft it names a random broker as "controller".
 */
export function activeController(rig: Rig): string | undefined {
  let leader: { name: string; epoch: number } | undefined
  for (const name of kafkaNodeNames(rig)) {
    if (!running(rig, name)) continue
    const log = readFileSync(join(rig.stackDir, name, `${name}.log`), 'utf8')
    for (const match of log.matchAll(/Completed transition to Leader\(.*?, epoch=(\d+), epochStartOffset/g)) {
      const epoch = Number(match[1])
      if (!leader || epoch > leader.epoch) leader = { name, epoch }
    }
  }
  return leader?.name
}

/** Waits until the connector's task runs on a worker other than `gone`; returns the seconds it took. */
export async function waitTaskMoved(rig: Rig, gone: string, timeoutMs: number): Promise<number> {
  const started = performance.now()
  await waitUntil(
    `the task to move off ${gone}`,
    async () => {
      const worker = await taskWorker(rig)
      return Boolean(worker) && worker !== gone
    },
    { timeoutMs, intervalMs: 250 },
  )
  return Math.round((performance.now() - started) / 100) / 10
}

/**
 * Brings every node and worker back (stack:up starts what is missing) and waits until every
 * partition of the cluster's topics has all its replicas in sync again, and the connector runs:
 * the next scenario starts from a whole cluster.
 */
export async function restoreCluster(rig: Rig, timeoutMs = 180_000) {
  await stackUp(
    rig.config,
    consoleReporter(() => {}),
  )
  const admin = rig.kafka.admin()
  await admin.connect()
  try {
    await waitUntil(
      'the cluster to be whole again (every replica in sync, the connector running)',
      async () => {
        const { topics } = await admin.fetchTopicMetadata().catch(() => ({ topics: [] }))
        const whole =
          topics.length > 0 &&
          topics.every((t) => t.partitions.every((p) => p.isr.length === p.replicas.length))
        const status = await rig
          .liveConnect()
          .status(rig.connectorEnv.CONNECTOR_NAME)
          .catch(() => undefined)
        return whole && isRunning(status)
      },
      { timeoutMs, intervalMs: 500 },
    )
  } finally {
    await admin.disconnect()
  }
}
