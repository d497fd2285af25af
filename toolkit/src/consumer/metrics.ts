import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client'

/** The consumer's Prometheus metrics, served beside /health. */
export function createConsumerMetrics() {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
  return {
    registry,
    applied: new Counter({
      name: 'consumer_events_applied_total',
      help: 'Events applied to the read model, by event type',
      labelNames: ['event_type'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'consumer_duplicates_skipped_total',
      help: 'Redeliveries the inbox skipped',
      registers: [registry],
    }),
    retries: new Counter({
      name: 'consumer_retries_total',
      help: 'Retries of failed attempts',
      registers: [registry],
    }),
    batchFallbacks: new Counter({
      name: 'consumer_batch_fallbacks_total',
      help: 'Batches rolled back as a whole and applied again record by record',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'consumer_dead_letters_total',
      help: 'Records set aside on the dead-letter topic, by error code',
      labelNames: ['error_code'] as const,
      registers: [registry],
    }),
    refusedTransitions: new Counter({
      name: 'consumer_refused_transitions_total',
      help: 'State changes handlers refused (late or conflicting events), by event type and the state found',
      labelNames: ['event_type', 'from'] as const,
      registers: [registry],
    }),
    inboxPruned: new Counter({
      name: 'consumer_inbox_pruned_total',
      help: 'Inbox rows deleted because no path can bring their events back',
      registers: [registry],
    }),
    processing: new Histogram({
      name: 'consumer_processing_seconds',
      help: 'Time to process one record, retries included',
      buckets: seconds,
      registers: [registry],
    }),
    commitToApply: new Histogram({
      name: 'consumer_commit_to_apply_seconds',
      help: 'From the outbox write (the record timestamp) to the event being applied',
      labelNames: ['event_type'] as const,
      buckets: seconds,
      registers: [registry],
    }),
  }
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>
