import type { Admin } from 'kafkajs'
import {
  type DeadLetterTopicSettings,
  deadLetterTopicSpec,
  defaultDeadLetterTopicSettings,
} from '../lib/dead-letter-topic.ts'
import { aggregateTypes, topicFor } from '../lib/events.ts'
import { ensureTopics } from '../lib/kafka.ts'

/**
 * Creates one topic per aggregate type with `partitions` partitions, and the dead-letter topic
 * with its own partitions and retention, before any event flows. Relying on auto-creation would
 * give whatever the broker's default is (or nothing, where auto-creation is off). (Consumers do
 * not depend on it: they watch for topics created after they started, see consumer/topic-watch.ts.)
 */
export async function ensureEventTopics(
  admin: Admin,
  namespace: string,
  partitions: number,
  deadLetters: DeadLetterTopicSettings = defaultDeadLetterTopicSettings,
) {
  return ensureTopics(admin, [
    ...aggregateTypes.map((type) => ({ topic: topicFor(type, namespace), partitions })),
    deadLetterTopicSpec(namespace, deadLetters),
  ])
}
