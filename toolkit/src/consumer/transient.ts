/**
 * Errors that say "not now" rather than "never": the database restarting, unreachable, read-only
 * after a failover, out of disk or memory; a serialization failure or deadlock (the transaction lost
 * a race), a statement timeout; a table, column or grant the code expects not there yet. Retrying the same message later can succeed; dead-lettering it would
 * set aside a good event. When in doubt about the database rather than the event, it counts as
 * transient: outlasting the retries then stops the consumer, which a restart undoes, instead of
 * dead-lettering every event while the database is away.
 */
const transientSqlStates = new Set([
  '25006', // read_only_sql_transaction (a standby after a failover, maintenance)
  '3D000', // invalid_catalog_name: the database is gone or the URL points elsewhere
  // The schema or the role is not what the code expects: code deployed before its migration, a
  // split database missing a grant. Every event fails alike until the deploy is fixed, and the
  // statement text comes from our code, never from the event, so dead-lettering would only set
  // aside good events. Data errors (class 22) and broken constraints (class 23) stay permanent.
  '3F000', // invalid_schema_name
  '42P01', // undefined_table
  '42703', // undefined_column
  '42704', // undefined_object (a type or constraint a migration creates)
  '42883', // undefined_function (a function or operator a migration or extension creates)
  '42501', // insufficient_privilege
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
])
/**
 * Whole SQLSTATE classes about the server, never the statement: 08 connection exception,
 * 28 invalid authorization (a rotated password: every event would fail alike),
 * 53 insufficient resources (disk full, out of memory, too many connections), 57 operator
 * intervention (shutdown, crash, starting up, statement timeout, idle session timeout),
 * 58 system error (I/O errors outside Postgres).
 */
const transientSqlClasses = ['08', '28', '53', '57', '58']
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
  // Ours: the connection under a batch transaction was replaced (see applyInTransaction).
  'CONNECTION_REPLACED',
])

export function isTransient(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const code = (current as { code?: unknown }).code
    // A failed system call (getaddrinfo ENOTFOUND, connect EHOSTUNREACH, read ENOTCONN, …) is the
    // network or the host failing, whatever its code: never something wrong with the event.
    if (typeof (current as { syscall?: unknown }).syscall === 'string') return true
    if (
      typeof code === 'string' &&
      (transientSqlStates.has(code) ||
        transientSqlClasses.some((prefix) => code.startsWith(prefix)) ||
        transientClientCodes.has(code))
    ) {
      return true
    }
  }
  return false
}
