import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { kafkaAnswers } from 'outbox-cdc'
import type { Component, ComponentName } from './component.ts'
import { kafkaNodePorts, portEnvVar, type StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import { runJava } from './java-run.ts'
import { jvmLaunch, renderProperties } from './jvm.ts'
import { writePrivate } from './secrets.ts'
import {
  isSecure,
  scramFormatArgsFile,
  secureKafkaProperties,
  stackKafkaSecurity,
  storageModeError,
} from './secure.ts'

/**
 * A Kafka cluster id: 16 random bytes in URL-safe base64, as `kafka-storage random-uuid` prints.
 * One in 64 would start with '-', which the storage tool's argument parser takes for an option;
 * like Kafka's own Uuid.randomUuid(), draw again.
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** Every node's broker address, node 1 first. */
export const localBrokers = (config: StackConfig) =>
  Array.from(
    { length: config.env.STACK_KAFKA_NODES },
    (_, i) => `127.0.0.1:${kafkaNodePorts(config.env, i + 1).broker}`,
  )

/** Node 1 is `kafka`, as the single node always was; the others `kafka-2`, `kafka-3`… */
export const kafkaNodeName = (node: number): ComponentName => (node === 1 ? 'kafka' : `kafka-${node}`)

/**
 * A node's server.properties: broker and controller in one process, its data in `dataDir`. One
 * node is its own quorum (formatted --standalone). On several, every node is a voter of a static
 * quorum, and the cluster's own topics are replicated as production would have them.
 */
export function kafkaServerProperties(
  config: StackConfig,
  dataDir: string,
  node = 1,
): Record<string, string | number> {
  const nodes = config.env.STACK_KAFKA_NODES
  const { broker, controller } = kafkaNodePorts(config.env, node)
  const voters = Array.from(
    { length: nodes },
    (_, i) => `${i + 1}@127.0.0.1:${kafkaNodePorts(config.env, i + 1).controller}`,
  )
  // Three copies, two of which must have a write before it is acknowledged (acks=all): one node
  // may be lost, for good, without losing an acknowledged record or refusing writes. One node can
  // hold only one copy.
  const replicas = Math.min(nodes, 3)
  const minIsr = Math.max(1, replicas - 1)
  return {
    'process.roles': 'broker,controller',
    'node.id': node,
    listeners: `PLAINTEXT://127.0.0.1:${broker},CONTROLLER://127.0.0.1:${controller}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${broker}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    ...(nodes === 1
      ? { 'controller.quorum.bootstrap.servers': `127.0.0.1:${controller}` }
      : { 'controller.quorum.voters': voters.join(',') }),
    'log.dirs': dataDir,
    'offsets.topic.replication.factor': replicas,
    'transaction.state.log.replication.factor': replicas,
    'transaction.state.log.min.isr': minIsr,
    'share.coordinator.state.topic.replication.factor': replicas,
    'share.coordinator.state.topic.min.isr': minIsr,
    // Topics created with replication factor -1 (ours are: see ensureTopics in the toolkit) take these.
    'default.replication.factor': replicas,
    'min.insync.replicas': minIsr,
    // Nobody else will join the group; waiting for them only slows every consumer start.
    'group.initial.rebalance.delay.ms': 0,
    'log.retention.check.interval.ms': config.env.STACK_KAFKA_RETENTION_CHECK_MS,
    // Off, as a production cluster should have it: every topic is created on purpose, with its
    // partitions and retention, and code that leans on auto-creation fails in tests, not in prod.
    'auto.create.topics.enable': 'false',
    ...(isSecure(config) ? secureKafkaProperties(config, broker, controller) : {}),
  }
}

/** What a node's storage was formatted for; a stack started with other settings must not reuse it. */
interface Formatted {
  clusterId: string
  controllerPort: number
  nodes?: number
  /** Formatted with the secured stack's SCRAM users. */
  secure?: boolean
}

/**
 * The cluster id every node is formatted with, drawn once into `<stackDir>/kafka/cluster-id` and
 * read from there by every node: the nodes are prepared at the same time, and a node formatted
 * with another id is refused by the others' votes (INCONSISTENT_CLUSTER_ID).
 */
function clusterIdFor(config: StackConfig): string {
  const dir = join(config.stackDir, kafkaNodeName(1))
  const file = join(dir, 'cluster-id')
  mkdirSync(dir, { recursive: true })
  // A node still formatted (node 1's folder deleted by hand, a purge cut short) keeps the id.
  const formatted = Array.from({ length: config.env.STACK_KAFKA_NODES }, (_, i) =>
    join(config.stackDir, kafkaNodeName(i + 1), 'formatted.json'),
  )
    .filter((path) => existsSync(path))
    .map((path) => (JSON.parse(readFileSync(path, 'utf8')) as Formatted).clusterId)[0]
  try {
    writeFileSync(file, `${formatted ?? newClusterId()}\n`, { flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  return readFileSync(file, 'utf8').trim()
}

/** Kafka 4 node `node` (1-based) in KRaft mode: broker and controller in one process. */
export function kafkaComponent(config: StackConfig, java: string, node = 1): Component {
  const name = kafkaNodeName(node)
  const dir = join(config.stackDir, name)
  const dataDir = join(dir, 'data')
  const propertiesFile = join(dir, 'server.properties')
  const formattedFile = join(dir, 'formatted.json')
  const nodes = config.env.STACK_KAFKA_NODES
  const { broker: port, controller: controllerPort } = kafkaNodePorts(config.env, node)

  return {
    name,
    dir,
    ports: [
      { port, envVar: portEnvVar.kafka },
      { port: controllerPort, envVar: portEnvVar.kafkaController },
    ],

    async prepare(reporter) {
      // The secured broker's file holds its SCRAM password.
      writePrivate(propertiesFile, renderProperties(kafkaServerProperties(config, dataDir, node)))
      if (existsSync(join(dataDir, 'meta.properties'))) {
        const formatted = JSON.parse(readFileSync(formattedFile, 'utf8')) as Formatted
        const formattedNodes = formatted.nodes ?? 1
        const cluster = clusterIdFor(config)
        if (formatted.clusterId !== cluster)
          throw new StackError(
            'START_FAILED',
            `Kafka's storage in ${dir} belongs to cluster ${formatted.clusterId}, the stack's other nodes to ${cluster}: ` +
              'the nodes cannot form one quorum. Reset the stack with `npm run stack:down -- --purge`.',
          )
        const modeError = storageModeError(dir, formatted.secure ?? false, isSecure(config))
        if (modeError) throw modeError
        if (formatted.controllerPort !== controllerPort || formattedNodes !== nodes) {
          throw new StackError(
            'START_FAILED',
            `Kafka's storage in ${dir} was formatted for ${formattedNodes} node(s) with controller port ` +
              `${formatted.controllerPort}, not ${nodes} with ${controllerPort}. Set STACK_KAFKA_NODES=${formattedNodes} ` +
              'and KAFKA_CONTROLLER_PORT as before, or reset the stack with `npm run stack:down -- --purge`.',
          )
        }
        return
      }
      await reporter.step(`${name}: format KRaft storage`, async () => {
        const clusterId = clusterIdFor(config)
        // A static quorum (controller.quorum.voters) is formatted without --standalone.
        const quorum = nodes === 1 ? ['--standalone'] : []
        const args = ['kafka.tools.StorageTool', 'format', ...quorum, '-t', clusterId, '-c', propertiesFile]
        if (!isSecure(config)) await runJava(java, config, args)
        else {
          // The SCRAM passwords ride in an argument file that java reads, never on the command line.
          const argsFile = scramFormatArgsFile(config, dir, args)
          try {
            await runJava(java, config, [`@${argsFile}`])
          } finally {
            rmSync(argsFile, { force: true })
          }
        }
        writeFileSync(
          formattedFile,
          `${JSON.stringify({ clusterId, controllerPort, nodes, secure: isSecure(config) })}\n`,
        )
      })
    },

    launch: () => jvmLaunch(config, java, dir, 'kafka.Kafka', propertiesFile),
    probe: () => kafkaAnswers([`127.0.0.1:${port}`], 1500, stackKafkaSecurity(config)),
  }
}
