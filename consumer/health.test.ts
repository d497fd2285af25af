import { describe, expect, it } from 'vitest'
import type { ConsumerState, EventConsumer } from './event-consumer.ts'
import { startHealthServer } from './health.ts'

describe('the consumer health endpoint', () => {
  it('answers 200 only while consuming or waiting for its topics, 503 in every other state', async () => {
    let state: ConsumerState = 'starting'
    let topics = { reading: [] as string[], waitingFor: ['ns.order'] }
    const consumer = {
      get state() {
        return state
      },
      get topics() {
        return topics
      },
      stats: { applied: 4, duplicates: 1, deadLettered: 0, retries: 2 },
    } as EventConsumer
    const server = await startHealthServer(consumer, 0)
    try {
      const check = async () => {
        const response = await server.inject({ url: '/health' })
        return { status: response.statusCode, body: response.json() }
      }
      expect(await check()).toEqual({
        status: 503,
        body: {
          state: 'starting',
          applied: 4,
          duplicates: 1,
          deadLettered: 0,
          retries: 2,
          topics: [],
          waitingFor: ['ns.order'],
        },
      })
      state = 'waiting'
      expect(await check()).toMatchObject({ status: 200, body: { waitingFor: ['ns.order'] } })
      state = 'running'
      topics = { reading: ['ns.order'], waitingFor: [] }
      expect(await check()).toMatchObject({ status: 200, body: { topics: ['ns.order'], waitingFor: [] } })
      for (const other of ['stopping', 'stopped', 'failed'] as const) {
        state = other
        expect((await check()).status).toBe(503)
      }
    } finally {
      await server.close()
    }
  })
})
