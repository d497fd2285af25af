import type { Logger } from '../logger.ts'
import type { OnRefused } from './apply-event.ts'
import type { ConsumerMetrics } from './metrics.ts'

/**
 * A refused change is the service's state machine working (a late or repeated event): it is
 * logged and counted, and the record is done, never dead-lettered. The service's own callback
 * hears it too; one that throws leaves the batch applied.
 */
export function reportRefusals(
  o: { metrics?: ConsumerMetrics | undefined; onRefused?: OnRefused | undefined },
  log: Logger,
): OnRefused {
  return (r) => {
    o.metrics?.refusedTransitions.inc({ event_type: r.eventType, from: r.from })
    log.warn(r, 'state change refused by its handler: the event is done, not dead-lettered')
    try {
      o.onRefused?.(r)
    } catch (error) {
      log.error({ err: error, refusal: r }, 'onRefused threw; the batch stays applied')
    }
  }
}
