import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { OutboxEvent } from '../lib/events.ts'

/** The API's Prometheus metrics, on a registry of its own (tests build several apps). */
export function createApiMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return {
    registry,
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method and route pattern',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    outboxEvents: new Counter({
      name: 'outbox_events_written_total',
      help: 'Events appended to the outbox in committed transactions (idempotent replays excluded)',
      labelNames: ['event_type'] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'http_requests_in_flight',
      help: 'Requests being worked on now, which API_MAX_IN_FLIGHT bounds (health and metrics not counted)',
      registers: [registry],
    }),
    shed: new Counter({
      name: 'http_requests_shed_total',
      help: 'Requests answered 503 OVERLOADED before any handler ran, by the load signal that shed them',
      labelNames: ['signal'] as const,
      registers: [registry],
    }),
    idempotencyKeysExpired: new Counter({
      name: 'idempotency_keys_expired_total',
      help: 'Idempotency keys deleted by the background cleanup after their TTL',
      registers: [registry],
    }),
  }
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>

/** Counts the events a use case reports it appended, by type (a replay reports none). */
export function countEvents(metrics: ApiMetrics, events: readonly Pick<OutboxEvent, 'eventType'>[]) {
  for (const { eventType } of events) metrics.outboxEvents.inc({ event_type: eventType })
}
