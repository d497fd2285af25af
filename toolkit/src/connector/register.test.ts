import { describe, expect, it } from 'vitest'
import type { ConnectClient, ConnectorState, ConnectorStatus } from './connect-client.ts'
import { registerConnector, tasksCarry } from './register.ts'

/**
 * Connect as it behaves after a config update: the connector's config changes at once, its task's
 * config only a few looks later, and a restart runs the task on whatever task config it has then.
 * A task on the broken publication FAILS.
 */
function connectAfterAFailedStart(looksUntilTasksUpdate: number) {
  let config: Record<string, string> = { name: 'c', 'publication.name': 'no_such_pub' }
  let taskConfig = { ...config }
  let taskState: ConnectorState = 'FAILED'
  let looks = 0
  const status = (): ConnectorStatus =>
    ({
      name: 'c',
      connector: { state: 'RUNNING', worker_id: 'w' },
      tasks: [
        { id: 0, state: taskState, worker_id: 'w', trace: `publication ${taskConfig['publication.name']}` },
      ],
    }) as ConnectorStatus
  const client = {
    validate: async () => ({ configs: [] }),
    status: async () => status(),
    putConfig: async (_name: string, next: Record<string, string>) => {
      config = next
      looks = 0
      return { created: false }
    },
    taskConfigs: async () => {
      looks += 1
      if (looks >= looksUntilTasksUpdate) taskConfig = { ...config }
      return [taskConfig]
    },
    restart: async () => {
      taskState = taskConfig['publication.name'] === 'no_such_pub' ? 'FAILED' : 'RUNNING'
    },
    waitForState: async () => {
      if (taskState === 'FAILED') throw new Error(`FAILED: ${status().tasks[0]?.trace}`)
      return status()
    },
  }
  return client as unknown as ConnectClient
}

describe('registerConnector on a connector whose task FAILED', () => {
  it("restarts the task only once Connect has given it the new config, so the old config's failure is not reported as this one's", async () => {
    const connect = connectAfterAFailedStart(3)
    const status = await registerConnector(
      connect,
      { name: 'c', 'publication.name': 'outbox_publication' },
      { waitTimeoutMs: 1000 },
      () => {},
    )
    expect(status.tasks.map((t) => t.state)).toEqual(['RUNNING'])
  })
})

describe('registerConnector when Connect is slow to give the tasks the new config', () => {
  it("says that a FAILED after its restart may still be the previous config's", async () => {
    const connect = connectAfterAFailedStart(Number.POSITIVE_INFINITY)
    const said: string[] = []
    await expect(
      registerConnector(
        connect,
        { name: 'c', 'publication.name': 'outbox_publication' },
        { waitTimeoutMs: 600 },
        (l) => said.push(l),
      ),
    ).rejects.toThrow(/FAILED/)
    expect(said.join('\n')).toMatch(
      /not yet given the tasks this config: a FAILED below may still be the previous config's/,
    )
  })

  it('fails with NOT_FOUND when the connector is deleted meanwhile, not with a raw 404 from the restart', async () => {
    const connect = {
      ...connectAfterAFailedStart(3),
      taskConfigs: async () => undefined,
    } as unknown as ConnectClient
    await expect(
      registerConnector(connect, { name: 'c', 'publication.name': 'p' }, { waitTimeoutMs: 1000 }, () => {}),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })
})

describe('tasksCarry', () => {
  it("holds when every task runs the connector's settings exactly (Connect's own task.class aside), and not before", () => {
    const config = { 'publication.name': 'p', 'slot.name': 's' }
    expect(tasksCarry([{ ...config, 'task.class': 'x' }], config)).toBe(true)
    expect(tasksCarry([{ ...config, 'publication.name': 'old' }], config)).toBe(false)
    expect(tasksCarry([], config)).toBe(true)
  })

  it('does not take a task still holding a setting the fix removed for one that carries the fix', () => {
    const fixed = { 'publication.name': 'p' }
    expect(tasksCarry([{ ...fixed, 'heartbeat.action.query': 'insert into missing_table' }], fixed)).toBe(
      false,
    )
  })

  it('compares config-provider placeholders as written, as Connect stores them', () => {
    const config = { 'database.password': '${file:/new/pw.properties:password}' }
    expect(tasksCarry([{ 'database.password': '${file:/old/pw.properties:password}' }], config)).toBe(false)
    expect(tasksCarry([{ ...config }], config)).toBe(true)
  })
})
