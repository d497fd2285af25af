import type { Admin } from 'kafkajs'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { silentLogger } from '../logger.ts'
import { createTopicWatch, selectTopics } from './topic-watch.ts'

describe('the topics a consumer wants', () => {
  const listed = ['ns.book', 'ns.order', 'ns-dlq', 'nsx.book', 'other.ns.book', '__consumer_offsets']

  it('are every <namespace>.* topic for a pattern, never the dead-letter topic or a longer namespace', () => {
    expect(selectTopics({ namespace: 'ns' }, listed)).toEqual({
      wanted: ['ns.book', 'ns.order'],
      waitingFor: [],
    })
  })

  it('never read a nested namespace under theirs, nor its dead-letter topic', () => {
    const nested = ['ns.book', 'ns.v2.book', 'ns.v2-dlq', 'ns.v2.order']
    expect(selectTopics({ namespace: 'ns' }, nested)).toEqual({ wanted: ['ns.book'], waitingFor: [] })
    expect(selectTopics({ namespace: 'ns' }, ['ns.v2.book', 'ns.v2-dlq'])).toEqual({
      wanted: [],
      waitingFor: ['ns.*'],
    })
  })

  it('wait for the pattern while nothing matches it, as before connector:register', () => {
    expect(selectTopics({ namespace: 'ns' }, ['ns-dlq', 'nsx.book'])).toEqual({
      wanted: [],
      waitingFor: ['ns.*'],
    })
  })

  it('are the named topics that exist, and wait for those that do not yet', () => {
    expect(selectTopics({ namespace: 'ns', topics: ['ns.order', 'ns.shipment'] }, listed)).toEqual({
      wanted: ['ns.order'],
      waitingFor: ['ns.shipment'],
    })
  })
})

describe('the topic watch, when a topic it reads is deleted', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  /** A watch over a broker whose topic list is `listed`, every partition led. */
  const watchOver = (listed: { now: string[] }, subscribe: (topics: string[]) => Promise<void>) => {
    const admin = {
      listTopics: async () => listed.now,
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
      }),
    } as unknown as Admin
    const gone: string[][] = []
    const watch = createTopicWatch({
      admin,
      selection: { namespace: 'ns' },
      intervalMs: 100,
      log: silentLogger,
      subscribe,
      active: () => true,
      canSubscribe: () => true,
      onTopicsGone: (topics) => gone.push(topics),
    })
    return { watch, gone }
  }

  it('reports it once it is missing at two checks in a row, not at the first (a lagging broker)', async () => {
    vi.useFakeTimers()
    const listed = { now: ['ns.a', 'ns.b'] }
    const { watch, gone } = watchOver(listed, async () => {})
    await watch.start()
    expect(watch.topics).toEqual(['ns.a', 'ns.b'])
    listed.now = ['ns.b']
    await vi.advanceTimersByTimeAsync(100)
    expect(gone).toEqual([])
    await vi.advanceTimersByTimeAsync(100)
    expect(gone).toEqual([['ns.a']])
    await watch.stop()
  })

  it('forgets a miss when the topic is listed again', async () => {
    vi.useFakeTimers()
    const listed = { now: ['ns.a'] }
    const { watch, gone } = watchOver(listed, async () => {})
    await watch.start()
    for (const now of [[], ['ns.a'], [], ['ns.a']]) {
      listed.now = now
      await vi.advanceTimersByTimeAsync(100)
    }
    expect(gone).toEqual([])
    await watch.stop()
  })

  it('counts a topic as read even when subscribing failed (kafkajs has recorded it), so its deletion is seen', async () => {
    vi.useFakeTimers()
    const listed: { now: string[] } = { now: [] }
    let calls = 0
    const { watch, gone } = watchOver(listed, async () => {
      calls++
      // Deleted between the check and the subscription: kafkajs's metadata refresh fails.
      listed.now = []
      throw new Error('This server does not host this topic-partition')
    })
    await watch.start()
    listed.now = ['ns.a']
    await vi.advanceTimersByTimeAsync(100)
    expect(calls).toBe(1)
    expect(watch.topics).toEqual(['ns.a'])
    await vi.advanceTimersByTimeAsync(200)
    expect(gone).toEqual([['ns.a']])
    await watch.stop()
  })

  it('checks no more once stopped, even when its first check ends after the stop (a stop during start)', async () => {
    vi.useFakeTimers()
    const listed = { now: ['ns.a'] }
    let checks = 0
    let finishFirst: () => void = () => {}
    const admin = {
      listTopics: async () => {
        checks += 1
        if (checks === 1) await new Promise<void>((resolve) => (finishFirst = resolve))
        return listed.now
      },
      fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({
        topics: topics.map((name) => ({ name, partitions: [{ partitionId: 0, leader: 1 }] })),
      }),
    } as unknown as Admin
    const watch = createTopicWatch({
      admin,
      selection: { namespace: 'ns' },
      intervalMs: 100,
      log: silentLogger,
      subscribe: async () => {},
      active: () => true,
      canSubscribe: () => true,
      onTopicsGone: () => {},
    })
    const started = watch.start()
    await watch.stop()
    finishFirst()
    await started
    await vi.advanceTimersByTimeAsync(1000)
    expect(checks).toBe(1)
  })
})
