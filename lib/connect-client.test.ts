import { describe, expect, it } from 'vitest'
import { type ConnectorState, type ConnectorStatus, isInState, isRunning } from './connect-client.ts'

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
})
