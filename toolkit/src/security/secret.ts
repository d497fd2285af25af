import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { OptionsError } from '../errors.ts'
import { maskSecret } from '../redact.ts'

/**
 * Where a secret is: an environment variable or a file (a Kubernetes or Docker secret, say).
 * Never the secret itself: a config file is committed, shown in reviews and printed by tools, and
 * argv is visible to every user of the machine in `ps`.
 */
export const secretRefSchema = z.union(
  [
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name') }),
    z.strictObject({ file: z.string().min(1) }),
  ],
  { error: 'a secret must say where it is, { env: NAME } or { file: path }, never hold the value' },
)

export type SecretRef = z.infer<typeof secretRefSchema>

/**
 * Reads `ref` (a file's one trailing newline dropped). `what` names the secret in errors, which
 * say where it was looked for and never what was found. Every secret read is masked from then on
 * in whatever the toolkit prints (redactText), whoever's message carries it.
 */
export function readSecret(ref: SecretRef, what: string, env: NodeJS.ProcessEnv = process.env): string {
  let value: string | undefined
  if ('env' in ref) {
    value = env[ref.env]
    if (value === undefined) throw new OptionsError(`${what}: the environment variable ${ref.env} is not set`)
  } else {
    try {
      value = readFileSync(ref.file, 'utf8').replace(/\r?\n$/, '')
    } catch (cause) {
      throw new OptionsError(`${what}: cannot read ${ref.file} (${(cause as NodeJS.ErrnoException).code})`)
    }
  }
  if (value.length === 0)
    throw new OptionsError(`${what}: ${'env' in ref ? `the variable ${ref.env}` : ref.file} is empty`)
  maskSecret(value)
  return value
}

/** A file the toolkit needs (a CA, a certificate, a key), read now so a wrong path fails at start. */
export function readPemFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (cause) {
    throw new OptionsError(`${what}: cannot read ${path} (${(cause as NodeJS.ErrnoException).code})`)
  }
}
