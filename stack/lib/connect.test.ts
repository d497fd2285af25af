import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadStackConfig } from './config.ts'
import { connectComponent } from './connect.ts'
import { silentReporter } from './report.ts'

describe('the Connect worker config', () => {
  it('enables the file and env config providers, each fenced, and keeps internal topics at one replica', async () => {
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
      'config.storage.replication.factor': '1',
      'offset.storage.replication.factor': '1',
      'status.storage.replication.factor': '1',
      listeners: 'http://127.0.0.1:18999',
      'bootstrap.servers': '127.0.0.1:19092',
    })
  })
})
