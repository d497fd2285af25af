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

describe('tasksCarry', () => {
  it("holds when every task's config has the connector's settings, and not before", () => {
    const config = { 'publication.name': 'p', 'slot.name': 's' }
    expect(tasksCarry([{ ...config, 'task.extra': 'x' }], config)).toBe(true)
    expect(tasksCarry([{ ...config, 'publication.name': 'old' }], config)).toBe(false)
    expect(tasksCarry([], config)).toBe(true)
  })

  it('leaves config-provider placeholders out, since a task may hold them resolved', () => {
    const config = { 'database.password': '${file:/s/pw.properties:password}' }
    expect(tasksCarry([{ 'database.password': 'resolved' }], config)).toBe(true)
  })
})
