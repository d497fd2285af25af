import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createConnectClient, debeziumPostgresClass } from '../../lib/connect-client.ts'
import type { Component } from './component.ts'
import { portEnvVar, type StackConfig } from './config.ts'
import { jarPaths } from './jars.ts'
import { jvmLaunch, renderProperties } from './jvm.ts'

export const localConnectUrl = (config: StackConfig) => `http://127.0.0.1:${config.env.CONNECT_PORT}`

/** Env vars a connector config may reference as `${env:NAME}`; nothing else in the worker's env is exposed. */
export const connectEnvAllowlist = '^OUTBOX_CONNECT_.*$'

/** True when Connect's REST API answers and lists the Debezium Postgres connector. */
export async function connectListsDebezium(url: string): Promise<boolean> {
  try {
    const plugins = await createConnectClient(url, 2000).plugins()
    return plugins.some((plugin) => plugin.class === debeziumPostgresClass)
  } catch {
    return false
  }
}

/** Kafka Connect in distributed mode (one worker) with the Debezium Postgres plugin on its path. */
export function connectComponent(config: StackConfig, java: string, brokers: string[]): Component {
  const dir = join(config.stackDir, 'connect')
  const propertiesFile = join(dir, 'worker.properties')
  const port = config.env.CONNECT_PORT

  return {
    name: 'connect',
    dir,
    ports: [{ port, envVar: portEnvVar.connect }],

    async prepare() {
      writeFileSync(
        propertiesFile,
        renderProperties({
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
          'config.storage.replication.factor': 1,
          'offset.storage.replication.factor': 1,
          'status.storage.replication.factor': 1,
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
      jvmLaunch(config, java, dir, 'org.apache.kafka.connect.cli.ConnectDistributed', propertiesFile),
    probe: () => connectListsDebezium(localConnectUrl(config)),
    async diagnose() {
      const plugins = await createConnectClient(localConnectUrl(config), 2000)
        .plugins()
        .catch(() => undefined)
      if (plugins === undefined) return 'Its REST API does not answer yet.'
      return `Its REST API answers but lists ${plugins.length} connector plugins and not ${debeziumPostgresClass}: check that plugin.path (${jarPaths(config.jarsDir).plugins}) holds debezium-connector-postgres.`
    },
  }
}
