import { join } from 'node:path'
import {
  ConnectError,
  type ConnectSecurityInput,
  createConnectClient,
  debeziumPostgresClass,
} from 'outbox-cdc'
import type { Component, ComponentName } from './component.ts'
import { connectWorkerPort, portEnvVar, type StackConfig } from './config.ts'
import { jarPaths } from './jars.ts'
import { jvmLaunch, renderProperties } from './jvm.ts'
import { writePrivate } from './secrets.ts'
import { connectRestAuthFiles, isSecure, secureConnectProperties, stackConnectSecurity } from './secure.ts'

/** Worker `worker`'s REST URL; worker 1's is the stack's Connect URL. */
export const localConnectUrl = (config: StackConfig, worker = 1) =>
  `http://127.0.0.1:${connectWorkerPort(config.env, worker)}`

/** Every worker's REST URL, worker 1 first. */
export const localConnectUrls = (config: StackConfig) =>
  Array.from({ length: config.env.STACK_CONNECT_WORKERS }, (_, i) => localConnectUrl(config, i + 1))

/** Worker 1 is `connect`, as the single worker always was; the others `connect-2`… */
export const connectWorkerName = (worker: number): ComponentName =>
  worker === 1 ? 'connect' : `connect-${worker}`

/** Env vars a connector config may reference as `${env:NAME}`; nothing else in the worker's env is exposed. */
export const connectEnvAllowlist = '^OUTBOX_CONNECT_.*$'

/** True when Connect's REST API answers and lists the Debezium Postgres connector. */
export async function connectListsDebezium(url: string, security?: ConnectSecurityInput): Promise<boolean> {
  return (await connectDebeziumProblem(url, security)) === undefined
}

/**
 * Why the Connect at `url` cannot run the connector, or undefined when it can: one that does not
 * answer and one that answers without the Debezium plugin need different fixes.
 */
export async function connectDebeziumProblem(
  url: string,
  security?: ConnectSecurityInput,
): Promise<string | undefined> {
  let plugins: { class: string }[]
  try {
    plugins = await createConnectClient(url, 2000, { security }).plugins()
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    // A status means something answered: a login it wants, or no Connect REST API at that path.
    const status = error instanceof ConnectError ? error.status : undefined
    return status === undefined ? `does not answer (${message})` : `answers ${status} (${message})`
  }
  return plugins.some((plugin) => plugin.class === debeziumPostgresClass)
    ? undefined
    : `answers but does not list ${debeziumPostgresClass}`
}

/**
 * A Kafka Connect worker in distributed mode with the Debezium Postgres plugin on its path. All
 * workers share one group (and its three internal topics): the group runs each task on one of
 * them and moves it when that worker is gone.
 */
export function connectComponent(
  config: StackConfig,
  java: string,
  brokers: string[],
  worker = 1,
): Component {
  const name = connectWorkerName(worker)
  const dir = join(config.stackDir, name)
  const propertiesFile = join(dir, 'worker.properties')
  const port = connectWorkerPort(config.env, worker)

  return {
    name,
    dir,
    ports: [{ port, envVar: portEnvVar.connect }],

    async prepare() {
      writePrivate(
        propertiesFile,
        renderProperties({
          // The secured worker's SCRAM password is in here, hence writePrivate.
          ...(isSecure(config) ? secureConnectProperties(config) : {}),
          'bootstrap.servers': brokers.join(','),
          'group.id': 'outbox-cdc-connect',
          listeners: `http://127.0.0.1:${port}`,
          'rest.advertised.host.name': '127.0.0.1',
          'rest.advertised.port': port,
          'plugin.path': jarPaths(config.jarsDir).plugins,
          // Every plugin here ships ServiceLoader manifests; reading them skips a ~6 s class scan.
          'plugin.discovery': 'service_load',
          'key.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'key.converter.schemas.enable': 'false',
          'value.converter.schemas.enable': 'false',
          'config.storage.topic': '_connect-configs',
          'offset.storage.topic': '_connect-offsets',
          'status.storage.topic': '_connect-status',
          // The brokers' default.replication.factor (3 on three nodes, see kafka.ts), not a count
          // of our own: the bootstrap list need not name every broker of a cluster.
          'config.storage.replication.factor': -1,
          'offset.storage.replication.factor': -1,
          'status.storage.replication.factor': -1,
          // A worker that leaves (a crash, a restart) keeps its connector and task for this long
          // before the group gives them to a survivor; Connect's default is 5 minutes, in which
          // no event would leave the outbox. See CONNECT_REBALANCE_DELAY_MS in stack/lib/config.ts.
          'scheduled.rebalance.max.delay.ms': config.env.CONNECT_REBALANCE_DELAY_MS,
          // KIP-618: source records and their offsets written in one Kafka transaction, so a
          // crash re-sends nothing a read_committed consumer sees. Every worker of the group
          // must have it; a connector then asks for it with exactly.once.support=required.
          ...(config.env.CONNECTOR_EXACTLY_ONCE ? { 'exactly.once.source.support': 'enabled' } : {}),
          // Source offsets reach Kafka every second instead of every minute, so a crashed worker
          // re-sends one second of events (the consumer's inbox drops them), not one minute.
          'offset.flush.interval.ms': 1000,
          // Connector configs name secrets (`${file:…}`, `${env:…}`) instead of holding them; the
          // REST API then shows the placeholder. Both providers are fenced to what we allow.
          'config.providers': 'file,env',
          'config.providers.file.class': 'org.apache.kafka.common.config.provider.FileConfigProvider',
          'config.providers.file.param.allowed.paths': config.secretsDir,
          'config.providers.env.class': 'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
          'config.providers.env.param.allowlist.pattern': connectEnvAllowlist,
          // Lets a connector tune its own producer (linger, batch size) per connector.
          'connector.client.config.override.policy': 'All',
        }),
      )
    },

    launch: () =>
      jvmLaunch(
        config,
        java,
        dir,
        'org.apache.kafka.connect.cli.ConnectDistributed',
        propertiesFile,
        isSecure(config) ? connectRestAuthFiles(config, dir) : [],
      ),
    probe: () => connectListsDebezium(localConnectUrl(config, worker), stackConnectSecurity(config)),
    async diagnose() {
      const plugins = await createConnectClient(localConnectUrl(config, worker), 2000, {
        security: stackConnectSecurity(config),
      })
        .plugins()
        .catch(() => undefined)
      if (plugins === undefined) return 'Its REST API does not answer yet.'
      return `Its REST API answers but lists ${plugins.length} connector plugins and not ${debeziumPostgresClass}: check that plugin.path (${jarPaths(config.jarsDir).plugins}) holds debezium-connector-postgres.`
    },
  }
}
