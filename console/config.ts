import { z } from 'zod'
import { httpUrl, logLevel, parseEnv } from '../lib/config.ts'

const port = z.coerce.number().int().min(0).max(65_535)

export const consoleEnvSchema = z.object({
  /** The page, on loopback only unless CONSOLE_HOST says otherwise. */
  CONSOLE_PORT: port.default(3002),
  CONSOLE_HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Other `host:port` names the console answers to (it answers only requests addressed to itself):
   * the machine's name or address when CONSOLE_HOST opens it beyond loopback.
   */
  CONSOLE_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((text) =>
      text
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^\s/]+:\d+$/, 'must be host:port'))),
  /** Where the API serves /health and /metrics; by default this machine's API_PORT. */
  CONSOLE_API_URL: httpUrl.optional(),
  API_PORT: port.default(3000),
  /** Where the consumer serves /health and /metrics; by default this machine's CONSUMER_HEALTH_PORT. */
  CONSOLE_CONSUMER_URL: httpUrl.optional(),
  CONSUMER_HEALTH_PORT: port.default(3001),
  /**
   * The token the actions need. Unset: the one in the stack's secrets, generated on first start.
   * Long enough that guessing is out of the question.
   */
  CONSOLE_TOKEN: z.string().min(32, 'must be at least 32 characters').optional(),
  /** How often the page's data is refreshed (doctor's checks and both /metrics). */
  CONSOLE_SAMPLE_MS: z.coerce.number().int().min(500).max(60_000).default(3000),
  /** A check or a scrape slower than this counts as unreachable. */
  CONSOLE_TIMEOUT_MS: z.coerce.number().int().min(200).max(60_000).default(4000),
  LOG_LEVEL: logLevel,
})

export type ConsoleConfig = z.infer<typeof consoleEnvSchema> & { apiUrl: string; consumerUrl: string }

/** How a browser addresses the console: a wildcard bind is reached on loopback, IPv6 in brackets. */
export function consoleUrl(config: Pick<ConsoleConfig, 'CONSOLE_HOST'>, port: number): string {
  const host = config.CONSOLE_HOST
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}/`
}

export function loadConsoleConfig(source: Record<string, string | undefined>): ConsoleConfig {
  const env = parseEnv(consoleEnvSchema, source, 'console')
  const trim = (url: string) => url.replace(/\/+$/, '')
  return {
    ...env,
    apiUrl: trim(env.CONSOLE_API_URL ?? `http://127.0.0.1:${env.API_PORT}`),
    consumerUrl: trim(env.CONSOLE_CONSUMER_URL ?? `http://127.0.0.1:${env.CONSUMER_HEALTH_PORT}`),
  }
}
