import type { Admin } from 'kafkajs'
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
  if (missing.length > 0) {
    await admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
      waitForLeaders: true,
    })
  }
  const metadata = await admin.fetchTopicMetadata({ topics: wanted })
  return metadata.topics.map((topic) => ({
    topic: topic.name,
    partitions: topic.partitions.length,
    created: missing.includes(topic.name),
  }))
}
