import { describe, expect, it } from 'vitest'
import { ConsumerLifecycle, type ConsumerState } from './consumer-state.ts'

const walk = (...steps: ConsumerState[]) => {
  const lifecycle = new ConsumerLifecycle()
  const moved = steps.map((step) => lifecycle.move(step))
  return { lifecycle, moved }
}

describe('the consumer lifecycle', () => {
  it('goes created → starting → running → stopping → stopped', () => {
    const { lifecycle, moved } = walk('starting', 'running', 'stopping', 'stopped')
    expect(moved).toEqual([true, true, true, true])
    expect(lifecycle.state).toBe('stopped')
  })

  it('refuses a second start with a coded error, leaving the state as it was', () => {
    const { lifecycle } = walk('starting', 'running')
    expect(() => lifecycle.require('starting')).toThrow(
      expect.objectContaining({ code: 'INVALID_STATE', retryable: false }),
    )
    expect(lifecycle.state).toBe('running')
  })

  it('cannot be started again once stopped', () => {
    const { lifecycle } = walk('starting', 'running', 'stopping', 'stopped')
    expect(() => lifecycle.require('starting')).toThrow(/from stopped to starting/)
  })

  it('stays failed through stop(), so health keeps answering 503', () => {
    const { lifecycle, moved } = walk('starting', 'running', 'failed', 'stopping', 'stopped')
    expect(moved).toEqual([true, true, true, false, false])
    expect(lifecycle.state).toBe('failed')
  })

  it('reports only the first fatal error, and none once stopping', () => {
    expect(walk('starting', 'failed', 'failed').moved).toEqual([true, true, false])
    expect(walk('starting', 'running', 'stopping', 'failed').lifecycle.state).toBe('stopping')
  })

  it('is running only after starting: a group join before start() changes nothing', () => {
    expect(walk('running').lifecycle.state).toBe('created')
  })

  it('may wait for its topics after starting, then run once it joins its group', () => {
    const { lifecycle, moved } = walk('starting', 'waiting', 'running', 'stopping', 'stopped')
    expect(moved).toEqual([true, true, true, true, true])
    expect(lifecycle.state).toBe('stopped')
    expect(walk('starting', 'running', 'waiting').lifecycle.state).toBe('running')
  })
})
