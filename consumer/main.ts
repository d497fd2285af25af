import { withLocalStackDefaults } from '../stack/local-env.ts'
import { loadConsumerConfig } from './config.ts'
import { orderSide } from './handlers.ts'
import { exitOnStartFailure, runConsumerProcess } from './run-process.ts'

/** The order service's consumer: the catalogue read model, and orders moved on by shipment events. */
try {
  const config = loadConsumerConfig(withLocalStackDefaults())
  runConsumerProcess({
    name: 'consumer',
    config,
    app: orderSide,
    groupId: config.CONSUMER_GROUP,
    healthPort: config.CONSUMER_HEALTH_PORT,
  }).catch(exitOnStartFailure)
} catch (error) {
  exitOnStartFailure(error)
}
