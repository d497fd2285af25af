import { describe, expect, it, vi } from 'vitest'
import type { DoctorDeps } from '../doctor/check.ts'
import { createRecentEvents } from './recent-events.ts'
import { createSampler } from './sampler.ts'

/** Nothing listens on port 9 (discard): the services are "down" for real, answered at once. */
const nowhere = 'http://127.0.0.1:9'

describe('what the console keeps', () => {
  it('keeps samples for keepMs only, and shows services that do not answer as red stages', async () => {
    const sampler = createSampler({
      deps: {} as DoctorDeps,
      targets: {} as never,
      checks: [],
      apiUrl: nowhere,
      consumerUrl: nowhere,
      timeoutMs: 1000,
      keepMs: 0,
      intervalMs: 60_000,
    })
    const first = await sampler.refresh()
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(first.t))
    const second = await sampler.refresh()
    expect(sampler.samples()).toEqual([second])
    const stages = Object.fromEntries((sampler.latest()?.stages ?? []).map((s) => [s.id, s]))
    expect(stages.api).toMatchObject({ severity: 'fail', details: [expect.stringContaining('cannot reach')] })
    expect(sampler.latest()).toMatchObject({ written: undefined, applied: undefined })
  })

  it('keeps the newest events up to its capacity, numbering on across what fell off', () => {
    const events = createRecentEvents(2)
    const event = (key: string) => ({
      at: '',
      topic: 't',
      partition: 0,
      offset: '0',
      key,
      eventType: 'X',
      eventId: null,
      payload: null,
    })
    for (const key of ['a', 'b', 'c']) events.push(event(key))
    const { events: kept, last } = events.after(0, {})
    expect(kept.map((e) => [e.key, e.seq])).toEqual([
      ['b', 2],
      ['c', 3],
    ])
    expect(last).toBe(3)
  })
})
