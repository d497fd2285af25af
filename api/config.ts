import { z } from 'zod'
import { parseEnv } from '../lib/config.ts'

export const apiEnvSchema = z.object({
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  API_BODY_LIMIT_BYTES: z.coerce.number().int().min(256).max(10_485_760).default(16_384),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** How long a retry with the same Idempotency-Key replays the first response; then the key is new. */
  IDEMPOTENCY_KEY_TTL_HOURS: z.coerce.number().positive().max(8_760).default(24),
  /** How often the API deletes expired keys (in batches; each instance does, which is safe). */
  IDEMPOTENCY_CLEANUP_INTERVAL_S: z.coerce.number().int().min(1).max(86_400).default(300),
  /** Requests worked on at once; one more gets 503 OVERLOADED with Retry-After (0: no limit). */
  API_MAX_IN_FLIGHT: z.coerce.number().int().min(0).max(100_000).default(100),
  /** Mean event-loop delay above which requests get 503 OVERLOADED (0: not watched). */
  API_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** A `select 1` through the pool slower than this, or failing, sheds requests until one is fast again (0: not watched). */
  API_MAX_DB_LATENCY_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  /** Seconds a shed request is told to wait (Retry-After). */
  API_RETRY_AFTER_S: z.coerce.number().int().min(1).max(3600).default(1),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export type ApiConfig = z.infer<typeof apiEnvSchema>

export const loadApiConfig = (source: Record<string, string | undefined> = process.env): ApiConfig =>
  parseEnv(apiEnvSchema, source, 'API')
