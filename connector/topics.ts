import type { Admin } from 'kafkajs'
import pRetry from 'p-retry'
import { aggregateTypes, topicFor } from '../lib/events.ts'

/**
 * Creates one topic per aggregate type with `partitions` partitions, before any event flows.
 * Relying on auto-creation would give whatever the broker's default is, and a consumer that
 * subscribes by pattern would not see a topic created after it started.
 */
export async function ensureEventTopics(admin: Admin, namespace: string, partitions: number) {
  const wanted = aggregateTypes.map((type) => topicFor(type, namespace))
  const existing = new Set(await admin.listTopics())
  const missing = wanted.filter((topic) => !existing.has(topic))
  // Just after a broker starts, creating topics or reading their metadata can fail with a
  // retriable error (UNKNOWN_TOPIC_OR_PARTITION while leaders are elected): try again, a few times.
  const metadata = await pRetry(
    async () => {
      const present = new Set(await admin.listTopics())
      const toCreate = missing.filter((topic) => !present.has(topic))
      if (toCreate.length > 0) {
        await admin.createTopics({
          topics: toCreate.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
          waitForLeaders: true,
        })
      }
      return admin.fetchTopicMetadata({ topics: wanted })
    },
    {
      retries: 5,
      minTimeout: 500,
      shouldRetry: ({ error }) => (error as { retriable?: boolean }).retriable === true,
    },
  )
  return metadata.topics.map((topic) => ({
    topic: topic.name,
    partitions: topic.partitions.length,
    created: missing.includes(topic.name),
  }))
}
