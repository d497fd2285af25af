import { setTimeout as delay } from 'node:timers/promises'
import { isRunning, registerConnector } from 'outbox-cdc'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { buildConnectorConfig, registerOptionsOf } from '../../connector/config.ts'
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
    const status = await registerConnector(
      p.connect,
      buildConnectorConfig(p.connectorEnv),
      registerOptionsOf(p.connectorEnv),
      () => {},
    )
    expect(isRunning(status)).toBe(true)
    expect((await p.connect.getConfig(name))?.['publication.name']).toBe(p.connectorEnv.CONNECTOR_PUBLICATION)
  })

  it.each([
    ['STOPPED', 'stop'],
    ['PAUSED', 'pause'],
  ] as const)(
    'fails at once on a connector an operator left %s, naming connector:resume, and leaves it so',
    async (state, action) => {
      const name = p.connectorEnv.CONNECTOR_NAME
      await p.connect.waitForState(name, 'RUNNING', 30_000)
      await p.connect[action](name)
      try {
        await p.connect.waitForState(name, state, 30_000)
        // A wait far past the test's own timeout: only an answer at once passes.
        const outcome = await Promise.race([
          registerConnector(
            p.connect,
            buildConnectorConfig(p.connectorEnv),
            { ...registerOptionsOf(p.connectorEnv), waitTimeoutMs: 600_000 },
            () => {},
          ).then(
            () => 'registered',
            (error: unknown) => error,
          ),
          delay(20_000, 'still waiting after 20 s'),
        ])
        expect(outcome).toMatchObject({
          code: `CONNECTOR_${state}`,
          retryable: false,
          message: expect.stringMatching(/npm run connector:resume/),
        })
        // The config put shows as UNASSIGNED while Connect applies it (seen with other files
        // loading the worker): what counts is the state it settles in, never RUNNING.
        const settled = async () => {
          const now = (await p.connect.status(name))?.connector.state
          return now === 'UNASSIGNED' ? undefined : now
        }
        await expect.poll(settled, { timeout: 15_000 }).toBe(state)
      } finally {
        await p.connect.resume(name)
        await p.connect.waitForState(name, 'RUNNING', 30_000)
      }
    },
  )
})
