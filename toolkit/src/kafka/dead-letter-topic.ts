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
 * Settings a dead-letter topic can be created with: at least one partition, and a retention long
 * enough for someone to see a letter, fix the cause and redrive it (-1 keeps letters for ever).
 */
export const deadLetterTopicSettingsSchema = z.strictObject({
  partitions: z.number().int().min(1).max(1000),
  retentionMs: z
    .number()
    .int()
    .refine((ms) => ms === -1 || ms >= 60_000, 'must be -1 (keep for ever) or at least 60000'),
})

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
