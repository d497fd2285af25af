import { join } from 'node:path'
import { z } from 'zod'
import { repoRoot } from '../../stack/lib/config.ts'

/** `npm run soak`'s settings: 30 minutes at 1,000 orders/s unless told otherwise. */
export const soakEnvSchema = z
  .object({
    SOAK_MINUTES: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .default(30),
    /** OrderPlaced events a second the writers offer, the API's share included. */
    SOAK_EVENTS_PER_S: z.coerce.number().int().min(10).max(20_000).default(1000),
    /** Of those, orders a second through POST /orders; the bulk writer writes the rest. */
    SOAK_API_PER_S: z.coerce.number().int().min(1).max(5000).default(100),
    SOAK_BULK_PER_TX: z.coerce.number().int().min(1).max(1000).default(10),
    SOAK_SAMPLE_S: z.coerce.number().int().min(1).max(300).default(10),
    /** Minutes of warm-up the trends leave out: a third of the run, at most 10. */
    SOAK_WARMUP_MINUTES: z.coerce.number().int().min(0).max(600).optional(),
    SOAK_INBOX_RETENTION: z.string().default('2m'),
    /** The event topics' and the DLQ's retention: within the inbox's, so the doctor stays green. */
    SOAK_TOPIC_RETENTION_MS: z.coerce.number().int().min(60_000).default(60_000),
    SOAK_LABEL: z
      .string()
      .regex(/^[a-z0-9-]+$/)
      .default('soak'),
    SOAK_RESULTS_DIR: z.string().default(join(repoRoot, 'bench', 'results')),
  })
  .refine((s) => s.SOAK_EVENTS_PER_S > s.SOAK_API_PER_S, {
    message: 'SOAK_EVENTS_PER_S must exceed SOAK_API_PER_S: the bulk writer writes the difference',
  })
  .refine((s) => s.SOAK_WARMUP_MINUTES === undefined || s.SOAK_WARMUP_MINUTES <= s.SOAK_MINUTES - 2, {
    message: 'SOAK_WARMUP_MINUTES must leave at least 2 minutes of the run to judge',
  })
