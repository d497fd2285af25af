import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildConnectorConfig } from '../../connector/config.ts'
import { registerConnector } from '../../connector/register.ts'
import { isRunning } from '../../lib/connect-client.ts'
import { type Pipeline, startPipeline } from '../pipeline.ts'

const stack = inject('stack')

describe('connector:register', () => {
  let p: Pipeline
  beforeAll(async () => {
    p = await startPipeline(stack, { consumer: false })
  })
  afterAll(async () => {
    await p?.stop()
  })

  it('brings back a connector whose task FAILED once its config is put right, as npm start does after a failed start', async () => {
    const name = p.connectorEnv.CONNECTOR_NAME
    // A start that failed: the connector registered with a publication that does not exist.
    await p.connect.putConfig(
      name,
      buildConnectorConfig({ ...p.connectorEnv, CONNECTOR_PUBLICATION: 'no_such_pub' }),
    )
    await expect
      .poll(async () => (await p.connect.status(name))?.tasks.map((t) => t.state), { timeout: 30_000 })
      .toEqual(['FAILED'])
    // The user fixes the setting and registers again: the task runs with the new config.
    const status = await registerConnector(p.connect, p.connectorEnv, () => {})
    expect(isRunning(status)).toBe(true)
    expect((await p.connect.getConfig(name))?.['publication.name']).toBe(p.connectorEnv.CONNECTOR_PUBLICATION)
  })
})
