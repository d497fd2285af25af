import { z } from 'zod'
import { loadConsumerConfig } from '../consumer/config.ts'
import { runConsumerProcess } from '../consumer/run-process.ts'
import { consumerGroup, parseEnv } from '../lib/config.ts'
import { topicFor } from '../lib/events.ts'
import { withLocalStackDefaults } from '../stack/local-env.ts'
import { fulfilmentApp } from './handlers.ts'

const fulfilmentEnv = z.object({
  /** Its own group: it reads the order topic beside the order service's consumer, not instead of it. */
  FULFILMENT_GROUP: consumerGroup.default('outbox-cdc-fulfilment'),
  FULFILMENT_HEALTH_PORT: z.coerce.number().int().min(0).max(65_535).default(3003),
})

/**
 * The fulfilment service: reads OrderPlaced from the order topic and answers each order with a
 * shipment and ShipmentDispatched or ShipmentFailed in its own outbox (Debezium takes them to
 * `<namespace>.shipment`). The same consumer runtime as the order service's consumer, with its
 * own inbox, group and handlers. The database settings are the consumer's (DATABASE_URL…).
 */
runConsumerProcess(() => {
  const env = withLocalStackDefaults()
  const config = loadConsumerConfig(env)
  const own = parseEnv(fulfilmentEnv, env, 'fulfilment')
  return {
    name: 'fulfilment',
    config,
    app: fulfilmentApp,
    groupId: own.FULFILMENT_GROUP,
    healthPort: own.FULFILMENT_HEALTH_PORT,
    topics: [topicFor('order', config.TOPIC_NAMESPACE)],
  }
})
