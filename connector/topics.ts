import type { Admin } from 'kafkajs'
import { type DeadLetterTopicSettings, ensureEventTopics } from 'outbox-cdc'
import { aggregateTypes } from '../lib/events.ts'

/**
 * The bookstore's event topics (one per aggregate) and its dead-letter topic under `namespace`,
 * for the tests and the bench that create them without a connector. (Consumers do not depend on
 * it: the toolkit's runtime watches for topics created after it started.)
 */
export const ensureBookstoreTopics = (
  admin: Admin,
  namespace: string,
  partitions: number,
  deadLetters?: DeadLetterTopicSettings,
) =>
  ensureEventTopics(admin, {
    namespace,
    aggregates: aggregateTypes,
    partitions,
    ...(deadLetters ? { deadLetters } : {}),
  })
