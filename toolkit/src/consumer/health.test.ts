import { describe, expect, it } from 'vitest'
import type { ConsumerState, EventConsumer } from './event-consumer.ts'
import { startHealthServer } from './health.ts'

/** What GET /health answers now: its status and its body. */
async function healthOf(server: Awaited<ReturnType<typeof startHealthServer>>) {
  const response = await server.inject({ url: '/health' })
  return { status: response.statusCode, body: response.json() }
}

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
      group: { inGroup: true },
      stats: { applied: 4, duplicates: 1, deadLettered: 0, retries: 2 },
    } as unknown as EventConsumer
    const server = await startHealthServer(consumer, 0)
    try {
      const check = () => healthOf(server)
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

  it('answers 503 with the reason while a running consumer is out of its group, 200 once it is back in', async () => {
    let group: { inGroup: boolean; reason?: string } = {
      inGroup: false,
      reason: 'kafkajs crashed 4 s ago and has not rejoined its group since',
    }
    const consumer = {
      state: 'running',
      topics: { reading: ['ns.book'], waitingFor: [] },
      get group() {
        return group
      },
      stats: { applied: 0, duplicates: 0, deadLettered: 0, parked: 0, retries: 0 },
    } as unknown as EventConsumer
    const server = await startHealthServer(consumer, 0)
    try {
      const check = () => healthOf(server)
      expect(await check()).toMatchObject({
        status: 503,
        body: { state: 'running', reason: 'kafkajs crashed 4 s ago and has not rejoined its group since' },
      })
      group = { inGroup: true }
      const back = await check()
      expect(back.status).toBe(200)
      expect(back.body).not.toHaveProperty('reason')
    } finally {
      await server.close()
    }
  })
})
