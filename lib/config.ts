import type { z } from 'zod'

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID'
  readonly retryable = false
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/**
 * Parses an entry point's environment once, through its zod schema, and fails listing every
 * problem at once (not just the first), each with the variable's name.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: Record<string, string | undefined>,
  what: string,
): z.infer<S> {
  const parsed = schema.safeParse(source)
  if (parsed.success) return parsed.data
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(env)'}: ${issue.message}`)
  throw new ConfigError(`Invalid ${what} configuration:\n${lines.join('\n')}`)
}
