import { Kafka, type KafkaConfig, logLevel } from 'kafkajs'

/**
 * The one place that builds a Kafka client, so swapping kafkajs for another client touches one
 * file. kafkajs logs through its own logger; we keep it to errors unless asked.
 */
export function createKafka(options: { brokers: string[]; clientId: string } & Partial<KafkaConfig>): Kafka {
  return new Kafka({ logLevel: logLevel.ERROR, ...options })
}

/** Parses `host:port,host:port` as given in KAFKA_BROKERS. */
export function parseBrokers(list: string): string[] {
  return list
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker.length > 0)
}

/** True when a broker answers a metadata request within `timeoutMs`. */
export async function kafkaAnswers(brokers: string[], timeoutMs = 2000): Promise<boolean> {
  const admin = createKafka({
    brokers,
    clientId: 'outbox-cdc-probe',
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  }).admin()
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    return cluster.brokers.length > 0
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}
