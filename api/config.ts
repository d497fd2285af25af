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
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
})

export type ApiConfig = z.infer<typeof apiEnvSchema>

export const loadApiConfig = (source: Record<string, string | undefined> = process.env): ApiConfig =>
  parseEnv(apiEnvSchema, source, 'API')
