import Fastify from 'fastify'
import type { EventConsumer } from './event-consumer.ts'
import type { ConsumerMetrics } from './metrics.ts'

/**
 * `GET /health` (and `GET /metrics`, Prometheus text): health is 200 only while the consumer is in its group and consuming; 503 while starting,
 * stopping, or after a fatal error, so a supervisor or load balancer sees the real state.
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
    const body = { state: consumer.state, ...consumer.stats }
    return reply.code(consumer.state === 'running' ? 200 : 503).send(body)
  })
  await app.listen({ port, host })
  return app
}
