import { type CliConfigInput, consoleTokenVariable } from 'outbox-cdc'
import { z } from 'zod'
import { loadStackConfig } from '../stack/lib/config.ts'
import { ensureSecret, secretFile } from '../stack/lib/secrets.ts'
import { httpUrl, logLevel, parseEnv } from './config.ts'

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

/** The token's name in the stack's secrets folder (`console-token.password`). */
export const consoleTokenSecret = 'console-token'

export function loadConsoleConfig(source: Record<string, string | undefined>): ConsoleConfig {
  const env = parseEnv(consoleEnvSchema, source, 'console')
  const trim = (url: string) => url.replace(/\/+$/, '')
  return {
    ...env,
    apiUrl: trim(env.CONSOLE_API_URL ?? `http://127.0.0.1:${env.API_PORT}`),
    consumerUrl: trim(env.CONSOLE_CONSUMER_URL ?? `http://127.0.0.1:${env.CONSUMER_HEALTH_PORT}`),
  }
}

/** The CLI's `console` section for the bookstore: its services, and the token file of the stack. */
export function consoleCliSection(
  env: Record<string, string | undefined>,
): NonNullable<CliConfigInput['console']> {
  const config = loadConsoleConfig(env)
  return {
    host: config.CONSOLE_HOST,
    port: config.CONSOLE_PORT,
    allowedHosts: config.CONSOLE_ALLOWED_HOSTS,
    writerUrl: config.apiUrl,
    consumerUrl: config.consumerUrl,
    sampleMs: config.CONSOLE_SAMPLE_MS,
    timeoutMs: config.CONSOLE_TIMEOUT_MS,
    // The saga check sees fulfilment's events leave Postgres: it speaks for the connector.
    stages: { 'saga.capture': ['connector'] },
    tokenFile: secretFile(loadStackConfig(env).secretsDir, consoleTokenSecret),
  }
}

/**
 * The console's token for this process: CONSOLE_TOKEN when set (handed to the CLI as its variable),
 * else the stack's secret, generated on first use. Returns it for the caller that prints the URL.
 */
export function prepareConsoleToken(env: Record<string, string | undefined>): string {
  const config = loadConsoleConfig(env)
  const token = config.CONSOLE_TOKEN ?? ensureSecret(loadStackConfig(env).secretsDir, consoleTokenSecret)
  // The one npm start prints, whatever OUTBOX_CDC_CONSOLE_TOKEN the shell may hold.
  process.env[consoleTokenVariable] = token
  return token
}
