/**
 * Errors that say "not now" rather than "never": the database restarting or unreachable, a
 * serialization failure or deadlock (the transaction lost a race), a statement timeout. Retrying
 * the same message later can succeed; dead-lettering it would set aside a good event.
 */
const transientSqlStates = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
])
const transientClientCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
])

export function isTransient(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code
    if (
      typeof code === 'string' &&
      (transientSqlStates.has(code) || code.startsWith('08') || transientClientCodes.has(code))
    ) {
      return true
    }
  }
  return false
}
