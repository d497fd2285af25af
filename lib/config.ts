import type { z } from 'zod'
import { CodedError } from './errors.ts'

export class ConfigError extends CodedError<'CONFIG_INVALID'> {
  constructor(message: string) {
    super('CONFIG_INVALID', message)
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
