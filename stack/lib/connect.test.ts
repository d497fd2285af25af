import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { debeziumPostgresClass } from 'outbox-cdc'
import { describe, expect, it } from 'vitest'
import { loadStackConfig } from './config.ts'
import { connectComponent, connectDebeziumProblem } from './connect.ts'
import { silentReporter } from './report.ts'

describe('the Connect worker config', () => {
  it('enables the file and env config providers, each fenced, and gives internal topics the brokers replication factor', async () => {
    const config = loadStackConfig({
      STACK_DIR: mkdtempSync(join(tmpdir(), 'connect-')),
      CONNECT_PORT: '18999',
    })
    const component = connectComponent(config, 'java', ['127.0.0.1:19092'])
    mkdirSync(component.dir, { recursive: true })
    await component.prepare(silentReporter)
    const worker = Object.fromEntries(
      readFileSync(join(component.dir, 'worker.properties'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    )
    expect(worker).toMatchObject({
      'config.providers': 'file,env',
      'config.providers.file.class': 'org.apache.kafka.common.config.provider.FileConfigProvider',
      'config.providers.file.param.allowed.paths': config.secretsDir,
      'config.providers.env.class': 'org.apache.kafka.common.config.provider.EnvVarConfigProvider',
      'config.providers.env.param.allowlist.pattern': '^OUTBOX_CONNECT_.*$',
      'config.storage.replication.factor': '-1',
      'offset.storage.replication.factor': '-1',
      'status.storage.replication.factor': '-1',
      listeners: 'http://127.0.0.1:18999',
      'bootstrap.servers': '127.0.0.1:19092',
    })
  })
})

describe('a Connect cluster (STACK_CONNECT_WORKERS=2 on three Kafka nodes)', () => {
  const workerProperties = async (env: Record<string, string>, worker: number) => {
    const config = loadStackConfig({ STACK_DIR: mkdtempSync(join(tmpdir(), 'connect-')), ...env })
    const component = connectComponent(config, 'java', ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'], worker)
    mkdirSync(component.dir, { recursive: true })
    await component.prepare(silentReporter)
    return Object.fromEntries(
      readFileSync(join(component.dir, 'worker.properties'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(/=(.*)/s).slice(0, 2)),
    ) as Record<string, string>
  }

  it('runs every worker in one group on its own port, with internal topics at the brokers replication factor (3 on three nodes)', async () => {
    const env = { STACK_CONNECT_WORKERS: '2', STACK_KAFKA_NODES: '3' }
    const [one, two] = await Promise.all([workerProperties(env, 1), workerProperties(env, 2)])
    expect(one['group.id']).toBe(two['group.id'])
    expect([one.listeners, two.listeners]).toEqual(['http://127.0.0.1:18083', 'http://127.0.0.1:18084'])
    expect(two['rest.advertised.port']).toBe('18084')
    expect(two).toMatchObject({
      'config.storage.replication.factor': '-1',
      'offset.storage.replication.factor': '-1',
      'status.storage.replication.factor': '-1',
      'scheduled.rebalance.max.delay.ms': '15000',
    })
    expect(two['exactly.once.source.support']).toBeUndefined()
  })

  it('enables exactly-once source support on every worker when CONNECTOR_EXACTLY_ONCE=true', async () => {
    const env = {
      STACK_CONNECT_WORKERS: '2',
      CONNECTOR_EXACTLY_ONCE: 'true',
      CONNECT_REBALANCE_DELAY_MS: '5000',
    }
    for (const worker of [1, 2])
      expect(await workerProperties(env, worker)).toMatchObject({
        'exactly.once.source.support': 'enabled',
        'scheduled.rebalance.max.delay.ms': '5000',
      })
  })
})

describe('connectDebeziumProblem (an external CONNECT_URL, checked by stack:up)', () => {
  /** A local HTTP server answering every request with `status` and `body`, on a free port. */
  async function answering(status: number, body: unknown) {
    const server = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) }
  }

  it('says a Connect that is not there does not answer', async () => {
    const free = await answering(200, [])
    await free.close()
    expect(await connectDebeziumProblem(free.url)).toMatch(/^does not answer \(/)
  })

  it('says what a server that answers with an error answered: a login wanted is no missing plugin', async () => {
    const login = await answering(401, { error_code: 401, message: 'Unauthorized' })
    try {
      expect(await connectDebeziumProblem(login.url)).toMatch(/^answers 401 \(/)
    } finally {
      await login.close()
    }
  })

  it('says a Connect without the Debezium plugin does not list it, and one with it has no problem', async () => {
    const bare = await answering(200, [{ class: 'org.apache.kafka.connect.file.FileStreamSourceConnector' }])
    const debezium = await answering(200, [{ class: debeziumPostgresClass }])
    try {
      expect(await connectDebeziumProblem(bare.url)).toBe(
        `answers but does not list ${debeziumPostgresClass}`,
      )
      expect(await connectDebeziumProblem(debezium.url)).toBeUndefined()
    } finally {
      await bare.close()
      await debezium.close()
    }
  })
})
