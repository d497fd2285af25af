import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Returns the local stack's secret `name`, generating it on first use. Secrets live only in
 * `<stackDir>/secrets/` (git-ignored, mode 0600) and are never printed: they are hex, so they are
 * also safe inside SQL literals and URLs without escaping.
 */
export function ensureSecret(secretsDir: string, name: string): string {
  const file = secretFile(secretsDir, name)
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 })
  const secret = randomBytes(24).toString('hex')
  writeFileSync(file, `${secret}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return secret
}

/** The secret if it exists; never creates one. */
export function readSecret(secretsDir: string, name: string): string | undefined {
  const file = secretFile(secretsDir, name)
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined
}

export function secretFile(secretsDir: string, name: string): string {
  return join(secretsDir, `${name}.password`)
}

/** Writes a file only its owner may read, even when it existed with a wider mode before. */
export function writePrivate(file: string, text: string): void {
  if (existsSync(file)) chmodSync(file, 0o600)
  writeFileSync(file, text, { mode: 0o600 })
}
