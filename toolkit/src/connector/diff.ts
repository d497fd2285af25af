/** Keys whose values are secrets when given literally; a `${provider:…}` reference is shown as is. */
const secretKey = /password|secret|credentials|token|key\.password/i
const isReference = (value: string) => /^\$\{[a-z]+:[^}]+\}$/.test(value)

export function maskValue(key: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  return secretKey.test(key) && !isReference(value) ? '***' : value
}

export interface ConfigChange {
  key: string
  kind: 'added' | 'removed' | 'changed'
  running?: string | undefined
  desired?: string | undefined
}

/**
 * What `connector register` would change: the config built from the environment against the one
 * Connect runs, key by key, with literal secrets masked on both sides.
 */
export function diffConnectorConfig(
  desired: Record<string, string>,
  running: Record<string, string>,
): ConfigChange[] {
  const keys = [...new Set([...Object.keys(desired), ...Object.keys(running)])].sort()
  const changes: ConfigChange[] = []
  for (const key of keys) {
    const want = desired[key]
    const have = running[key]
    if (want === have) continue
    const kind = have === undefined ? 'added' : want === undefined ? 'removed' : 'changed'
    changes.push({ key, kind, running: maskValue(key, have), desired: maskValue(key, want) })
  }
  return changes
}

export function formatChange(change: ConfigChange): string {
  if (change.kind === 'added') return `+ ${change.key} = ${change.desired}`
  if (change.kind === 'removed') return `- ${change.key} = ${change.running}`
  return `~ ${change.key}: ${change.running} → ${change.desired}`
}
