import { type DeadLetterTopicSettings, defaultDeadLetterTopicSettings } from 'outbox-cdc'
import { z } from 'zod'

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
