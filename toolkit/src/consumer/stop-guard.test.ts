import { logLevel } from 'kafkajs'
import type postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineEvent, defineEvents } from '../events/define.ts'
import { createKafka } from '../kafka/client.ts'
import { silentLogger } from '../logger.ts'
import { defineInboxApp } from './apply-event.ts'
import { createEventConsumer } from './event-consumer.ts'
import { createStopGuard } from './stop-guard.ts'

describe('the stop guard', () => {
  const settled = (guard: ReturnType<typeof createStopGuard>) => {
    const state = { settled: false }
    void guard.settle().then(() => {
      state.settled = true
    })
    return state
  }
  const turn = () => new Promise((resolve) => setImmediate(resolve))

  it('begins no join once a stop is asked for, and a stop waits for the join in flight', async () => {
    const guard = createStopGuard()
    let finishJoin: () => void = () => {}
    const joined = guard.join(() => new Promise<void>((resolve) => (finishJoin = resolve)))
    guard.request()
    const waiting = settled(guard)
    await turn()
    expect(waiting.settled).toBe(false)
    finishJoin()
    await joined
    await turn()
    expect(waiting.settled).toBe(true)
    let ran = false
    await guard.join(async () => {
      ran = true
    })
    expect(ran).toBe(false)
  })

  it('waits for a restart of kafkajs after a crash until it has joined, or crashed again', async () => {
    const guard = createStopGuard()
    guard.restartBegan()
    guard.request()
    const waiting = settled(guard)
    await turn()
    expect(waiting.settled).toBe(false)
    guard.restartEnded()
    await turn()
    expect(waiting.settled).toBe(true)
  })
})

describe('a consumer stopped before it is up', () => {
  const things = defineEvents(
    [
      defineEvent({
        type: 'ThingMade',
        aggregate: 'thing',
        payload: z.object({ id: z.string() }),
        aggregateId: (p) => p.id,
      }),
    ],
    { namespace: 'things.events' },
  )
  const app = defineInboxApp({ registry: things, inbox: 'inbox', handlers: { ThingMade: async () => {} } })
  // Nothing listens on port 9: kafkajs retries its connection (here twice, for about a second).
  const unreachable = () =>
    createKafka({
      brokers: ['127.0.0.1:9'],
      clientId: 'stop-guard-test',
      logLevel: logLevel.NOTHING,
      retry: { retries: 2, initialRetryTime: 200 },
    })
  // The start's first step asks the database (for parked letters) and goes on to Kafka when that fails.
  let askedDatabase: () => void = () => {}
  const noDatabase = (() => {
    askedDatabase()
    return Promise.reject(new Error('no database here'))
  }) as unknown as postgres.Sql
  const consumerOn = (kafka = unreachable()) =>
    createEventConsumer({
      kafka,
      sql: noDatabase,
      groupId: 'g',
      namespace: 'things.events',
      log: silentLogger,
      retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
      keepKeyOrder: false,
      app,
    })

  it('stops once however often asked: a second stop at once returns only when the first has', async () => {
    const consumer = consumerOn()
    const order: string[] = []
    const reachedKafka = new Promise<void>((resolve) => (askedDatabase = () => setImmediate(resolve)))
    const started = consumer.start()
    await reachedKafka
    const first = consumer.stop().then(() => order.push('first'))
    const second = consumer.stop().then(() => order.push('second'))
    await Promise.all([first, second, started])
    expect(order).toEqual(['first', 'second'])
    expect(consumer.state).toBe('stopped')
  })

  it('refuses a start that comes after its stop, even before the stop has returned', async () => {
    const consumer = consumerOn()
    const stopped = consumer.stop()
    await expect(consumer.start()).rejects.toMatchObject({ code: 'INVALID_STATE' })
    await stopped
    expect(consumer.state).toBe('stopped')
  })

  it('stops while its start still waits for Kafka, without waiting for that start, which then ends stopped', async () => {
    const consumer = consumerOn()
    const order: string[] = []
    const reachedKafka = new Promise<void>((resolve) => (askedDatabase = () => setImmediate(resolve)))
    const started = consumer.start().then(
      () => order.push('start resolved'),
      (error: unknown) => order.push(`start rejected: ${String(error)}`),
    )
    await reachedKafka
    await consumer.stop()
    order.push('stop resolved')
    await started
    expect(order).toEqual(['stop resolved', 'start resolved'])
    expect(consumer.state).toBe('stopped')
  }, 60_000)
})
