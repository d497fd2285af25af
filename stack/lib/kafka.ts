import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { kafkaAnswers } from '../../lib/kafka.ts'
import type { Component } from './component.ts'
import { portEnvVar, type StackConfig } from './config.ts'
import { StackError } from './errors.ts'
import { runJava } from './java-run.ts'
import { jvmLaunch, renderProperties } from './jvm.ts'

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

export const localBrokers = (config: StackConfig) => [`127.0.0.1:${config.env.KAFKA_PORT}`]

/** The broker's server.properties: one node, broker and controller, its data in `dataDir`. */
export function kafkaServerProperties(config: StackConfig, dataDir: string): Record<string, string | number> {
  const { KAFKA_PORT: port, KAFKA_CONTROLLER_PORT: controllerPort } = config.env
  return {
    'process.roles': 'broker,controller',
    'node.id': 1,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    'log.dirs': dataDir,
    // One node: every internal topic must live with a single replica.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    // Nobody else will join the group; waiting for them only slows every consumer start.
    'group.initial.rebalance.delay.ms': 0,
    // Off, as a production cluster should have it: every topic is created on purpose, with its
    // partitions and retention, and code that leans on auto-creation fails in tests, not in prod.
    'auto.create.topics.enable': 'false',
  }
}

/** A single Kafka 4 node in KRaft mode: broker and controller in one process. */
export function kafkaComponent(config: StackConfig, java: string): Component {
  const dir = join(config.stackDir, 'kafka')
  const dataDir = join(dir, 'data')
  const propertiesFile = join(dir, 'server.properties')
  const formattedFile = join(dir, 'formatted.json')
  const { KAFKA_PORT: port, KAFKA_CONTROLLER_PORT: controllerPort } = config.env

  return {
    name: 'kafka',
    dir,
    ports: [
      { port, envVar: portEnvVar.kafka },
      { port: controllerPort, envVar: portEnvVar.kafkaController },
    ],

    async prepare(reporter) {
      writeFileSync(propertiesFile, renderProperties(kafkaServerProperties(config, dataDir)))
      if (existsSync(join(dataDir, 'meta.properties'))) {
        const formatted = JSON.parse(readFileSync(formattedFile, 'utf8')) as { controllerPort: number }
        if (formatted.controllerPort !== controllerPort) {
          throw new StackError(
            'START_FAILED',
            `Kafka's storage was formatted for controller port ${formatted.controllerPort}, ` +
              `not ${controllerPort}. Set KAFKA_CONTROLLER_PORT=${formatted.controllerPort} or reset the stack ` +
              'with `npm run stack:down -- --purge`.',
          )
        }
        return
      }
      await reporter.step('kafka: format KRaft storage', async () => {
        const clusterId = newClusterId()
        await runJava(java, config, [
          'kafka.tools.StorageTool',
          'format',
          '--standalone',
          '-t',
          clusterId,
          '-c',
          propertiesFile,
        ])
        writeFileSync(formattedFile, `${JSON.stringify({ clusterId, controllerPort })}\n`)
      })
    },

    launch: () => jvmLaunch(config, java, dir, 'kafka.Kafka', propertiesFile),
    probe: () => kafkaAnswers(localBrokers(config), 1500),
  }
}
