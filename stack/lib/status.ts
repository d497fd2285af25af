import { join } from 'node:path'
import { kafkaAnswers } from 'outbox-cdc'
import type { ComponentName } from './component.ts'
import type { StackConfig } from './config.ts'
import { connectListsDebezium, connectWorkerName } from './connect.ts'
import { kafkaNodeName } from './kafka.ts'
import { postgresMajorAt } from './postgres.ts'
import { addressName, currentPrimary, nodeStatuses } from './postgres-standby.ts'
import { isOurs, readRecord } from './processes.ts'
import { readSecret } from './secrets.ts'
import { stackInfo } from './stack.ts'

export interface ComponentStatus {
  managed: boolean
  pid: number | null
  ports: number[]
  healthy: boolean
  log: string | null
}

/** Probes each component the way stack:up does; `ok` only when all three do their job. */
export async function stackStatus(config: StackConfig) {
  const info = stackInfo(config)
  const processOf = (name: ComponentName) => {
    const record = readRecord(join(config.stackDir, name, 'process.json'))
    return isOurs(record) ? record : undefined
  }
  const describe = (
    name: ComponentName,
    managed: boolean,
    ports: number[],
    healthy: boolean,
  ): ComponentStatus => {
    const record = managed ? processOf(name) : undefined
    return {
      managed,
      pid: record?.pid ?? null,
      ports: record?.ports ?? ports,
      healthy,
      log: record?.logFile ?? null,
    }
  }
  const { env } = config
  const nodes = await Promise.all(
    info.kafka.brokers.map(async (broker, i) => {
      const name = config.managed.kafka ? kafkaNodeName(i + 1) : 'kafka'
      const ports = config.managed.kafka ? [Number(broker.split(':')[1]), env.KAFKA_CONTROLLER_PORT + i] : []
      const healthy = await kafkaAnswers(
        config.managed.kafka ? [broker] : info.kafka.brokers,
        2000,
        info.kafka.security,
      )
      return { name, broker, ...describe(name, config.managed.kafka, ports, healthy) }
    }),
  )
  const workers = await Promise.all(
    info.connect.workers.map(async (url, i) => {
      const name = connectWorkerName(i + 1)
      const healthy = await connectListsDebezium(url, info.connect.security)
      return { name, url, ...describe(name, config.managed.connect, [Number(new URL(url).port)], healthy) }
    }),
  )
  const pgMajor = await postgresMajorAt(info.postgres.url)
  // With a standby, POSTGRES_PORT is the address; each node answers on its own port.
  const standby =
    config.managed.postgres && env.STACK_POSTGRES_STANDBY
      ? {
          primary: currentPrimary(config),
          replication: env.STACK_POSTGRES_REPLICATION,
          nodes: await nodeStatuses(config, readSecret(config.secretsDir, 'postgres-admin') ?? ''),
        }
      : undefined
  const pgOk = pgMajor !== null
  const kafkaOk = nodes.every((n) => n.healthy)
  const connectOk = workers.every((w) => w.healthy)
  // One URL that answers, while any worker does: any worker takes any REST request.
  const connectUrl = workers.find((w) => w.healthy)?.url ?? info.connect.url
  const { name: _k, broker: _b, ...firstNode } = nodes[0] as (typeof nodes)[number]
  const { name: _c, url: _u, ...firstWorker } = workers[0] as (typeof workers)[number]
  return {
    info: { ...info, connect: { ...info.connect, url: connectUrl } },
    // With a standby, both nodes answer, each in the role the address gives it.
    ok:
      pgOk &&
      kafkaOk &&
      connectOk &&
      (!standby ||
        standby.nodes.every((n) => n.role === (n.name === standby.primary ? 'primary' : 'standby'))),
    postgres: {
      ...describe(standby ? addressName : 'postgres', config.managed.postgres, [env.POSTGRES_PORT], pgOk),
      major: pgMajor,
      ...(standby ? { standby } : {}),
    },
    kafka: { ...firstNode, healthy: kafkaOk, nodes },
    connect: { ...firstWorker, healthy: connectOk, workers },
  }
}
