import type { Admin } from 'kafkajs'
import { z } from 'zod'
import { deadLetterTopicOf } from '../events/topics.ts'
import { ensureTopics, type TopicSpec } from './client.ts'

/** How the dead-letter topic is created; a topic that exists already is left as it is. */
export interface DeadLetterTopicSettings {
  partitions: number
  /** Kafka's `retention.ms`; -1 keeps dead letters until deleted by hand. */
  retentionMs: number
}

const fourteenDaysMs = 14 * 24 * 60 * 60 * 1000

export const defaultDeadLetterTopicSettings: DeadLetterTopicSettings = {
  partitions: 3,
  retentionMs: fourteenDaysMs,
}

/**
 * The variables every entry point that may create the dead-letter topic reads (connector:register,
 * npm start and the consumer), so whichever of them creates it first creates the same topic.
 */
export const deadLetterTopicEnv = {
  /** Partitions of `<namespace>-dlq`. */
  DLQ_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(defaultDeadLetterTopicSettings.partitions),
  /**
   * How long a dead letter is kept: long enough for someone to see it (the doctor warns while any
   * is there), fix the cause and redrive it. A letter not redriven by then is gone for good.
   */
  DLQ_RETENTION_MS: z.coerce
    .number()
    .int()
    .refine((ms) => ms === -1 || ms >= 60_000, 'must be -1 (keep for ever) or at least 60000')
    .default(defaultDeadLetterTopicSettings.retentionMs),
}

export const deadLetterTopicSettingsOf = (env: {
  DLQ_PARTITIONS: number
  DLQ_RETENTION_MS: number
}): DeadLetterTopicSettings => ({ partitions: env.DLQ_PARTITIONS, retentionMs: env.DLQ_RETENTION_MS })

export const deadLetterTopicSpec = (namespace: string, settings: DeadLetterTopicSettings): TopicSpec => ({
  topic: deadLetterTopicOf(namespace),
  partitions: settings.partitions,
  configs: { 'retention.ms': String(settings.retentionMs) },
})

/** Creates `<namespace>-dlq` unless it exists, so the first dead letter never depends on auto-creation. */
export async function ensureDeadLetterTopic(
  admin: Admin,
  namespace: string,
  settings: DeadLetterTopicSettings,
) {
  const [topic] = await ensureTopics(admin, [deadLetterTopicSpec(namespace, settings)])
  return topic
}
