import Fastify from 'fastify'
import type { EventConsumer } from './event-consumer.ts'
import type { ConsumerMetrics } from './metrics.ts'

/**
 * `GET /health` (and `GET /metrics`, Prometheus text): health is 200 while the consumer is in its
 * group and consuming, or waiting for its topics to exist (started before its connector is registered:
 * nothing to read, nothing wrong; the body's `waitingFor` says which); 503 while starting,
 * stopping, after a fatal error, or while a running consumer is out of its group (kafkajs crashed
 * and has not rejoined, or no heartbeat or fetch for a session: `reason` says which), so a
 * supervisor or load balancer sees the real state.
 */
export async function startHealthServer(
  consumer: EventConsumer,
  port: number,
  host = '127.0.0.1',
  metrics?: ConsumerMetrics,
) {
  const app = Fastify({ logger: false })
  if (metrics) {
    app.get('/metrics', async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    )
  }
  app.get('/health', async (_request, reply) => {
    const { reading, waitingFor } = consumer.topics
    const body = { state: consumer.state, ...consumer.stats, topics: reading, waitingFor }
    if (consumer.state === 'waiting') return reply.code(200).send(body)
    if (consumer.state !== 'running') return reply.code(503).send(body)
    const group = consumer.group
    return group.inGroup
      ? reply.code(200).send(body)
      : reply.code(503).send({ ...body, reason: group.reason })
  })
  await app.listen({ port, host })
  return app
}
