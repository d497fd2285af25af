import { withLocalStackDefaults } from '../stack/local-env.ts'
import { loadConsumerConfig } from './config.ts'
import { orderSide } from './handlers.ts'
import { runConsumerProcess } from './run-process.ts'

/** The order service's consumer: the catalogue read model, and orders moved on by shipment events. */
runConsumerProcess(() => {
  const config = loadConsumerConfig(withLocalStackDefaults())
  return {
    name: 'consumer',
    config,
    app: orderSide,
    groupId: config.CONSUMER_GROUP,
    healthPort: config.CONSUMER_HEALTH_PORT,
  }
})
