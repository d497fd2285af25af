import { describe, expect, it } from 'vitest'
import type { ConsumerState, EventConsumer } from './event-consumer.ts'
import { startHealthServer } from './health.ts'

describe('the consumer health endpoint', () => {
  it('answers 200 only while consuming, 503 in every other state', async () => {
    let state: ConsumerState = 'starting'
    const consumer = {
      get state() {
        return state
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
        body: { state: 'starting', applied: 4, duplicates: 1, deadLettered: 0, retries: 2 },
      })
      state = 'running'
      expect((await check()).status).toBe(200)
      for (const other of ['stopping', 'stopped', 'failed'] as const) {
        state = other
        expect((await check()).status).toBe(503)
      }
    } finally {
      await server.close()
    }
  })
})
