import { describe, expect, it } from 'vitest'
import { withoutUserinfo } from '../redact.ts'
import {
  type ConnectorState,
  type ConnectorStatus,
  createConnectClient,
  isInState,
  isRunning,
} from './connect-client.ts'

const statusOf = (connector: ConnectorState, ...tasks: ConnectorState[]): ConnectorStatus => ({
  name: 'outbox',
  connector: { state: connector, worker_id: 'w' },
  tasks: tasks.map((state, id) => ({ id, state, worker_id: 'w' })),
})

describe('isRunning', () => {
  it('holds only when the connector and every task run', () => {
    expect(isRunning(statusOf('RUNNING', 'RUNNING', 'RUNNING'))).toBe(true)
    expect(isRunning(statusOf('RUNNING', 'RUNNING', 'FAILED'))).toBe(false)
    expect(isRunning(statusOf('PAUSED', 'RUNNING'))).toBe(false)
  })

  it('does not hold before the tasks exist, nor for an absent connector', () => {
    expect(isRunning(statusOf('RUNNING'))).toBe(false)
    expect(isRunning(undefined)).toBe(false)
  })

  it('is isInState for RUNNING; PAUSED is tested the same way', () => {
    expect(isInState(statusOf('PAUSED', 'PAUSED'), 'PAUSED')).toBe(true)
    expect(isInState(statusOf('PAUSED', 'RUNNING'), 'PAUSED')).toBe(false)
  })

  it('holds STOPPED once the connector is stopped and its tasks are gone (Connect removes them)', () => {
    expect(isInState(statusOf('STOPPED'), 'STOPPED')).toBe(true)
    expect(isInState(statusOf('STOPPED', 'RUNNING'), 'STOPPED')).toBe(false)
    expect(isInState(statusOf('RUNNING'), 'STOPPED')).toBe(false)
  })

  it('holds PAUSED for a connector paused while STOPPED: Connect reports it PAUSED with no tasks', () => {
    expect(isInState(statusOf('PAUSED'), 'PAUSED')).toBe(true)
    expect(isInState(statusOf('PAUSED', 'RUNNING'), 'PAUSED')).toBe(false)
    expect(isInState(statusOf('RUNNING'), 'RUNNING')).toBe(false)
  })
})

describe('a Connect URL with a password in it', () => {
  it('is never repeated in an error (the console shows these to every reader)', async () => {
    const client = createConnectClient('http://ops:hunter2-secret@127.0.0.1:9', 1000)
    const error = (await client.status('outbox').catch((e: unknown) => e)) as Error
    expect(error.message).toContain('http://127.0.0.1:9 is not reachable')
    expect(error.message).not.toContain('hunter2')
    expect(withoutUserinfo('http://a:b@h:1/x')).toBe('http://h:1/x')
  })
})
