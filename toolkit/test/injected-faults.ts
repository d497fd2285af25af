import { createRequire } from 'node:module'
import { DrizzleQueryError } from 'drizzle-orm/errors'
import kafkajs from 'kafkajs'
import postgres from 'postgres'

/**
 * Errors as the libraries raise them, for unit tests that inject faults without a broker or a
 * database: the same classes, built the same way, so code that recognises them by class, name,
 * `type`, `retriable` or `code` sees what it would see in production.
 */

// kafkajs builds a protocol error from its own table of broker error codes (protocol/error.js,
// createErrorFromCode): the entry itself is handed to the KafkaJSProtocolError constructor.
const require = createRequire(import.meta.url)
const { errorCodes } = require('kafkajs/src/protocol/error.js') as {
  errorCodes: { type: string; code: number; retriable: boolean; message: string }[]
}

/** The group errors a heartbeat or an offset commit gets while the group changes under it. */
export const groupErrorTypes = [
  'REBALANCE_IN_PROGRESS',
  'NOT_COORDINATOR_FOR_GROUP',
  'UNKNOWN_MEMBER_ID',
  'ILLEGAL_GENERATION',
] as const

/** A broker's error response, e.g. REBALANCE_IN_PROGRESS (27), as kafkajs throws it. */
export function protocolError(type: (typeof groupErrorTypes)[number] | 'NOT_LEADER_FOR_PARTITION') {
  const entry = errorCodes.find((candidate) => candidate.type === type)
  if (!entry) throw new Error(`kafkajs has no protocol error ${type}`)
  return new kafkajs.KafkaJSProtocolError(entry as unknown as Error)
}

/** A request the broker did not answer in time (network/requestQueue/socketRequest.js). */
export function requestTimeout(request = 'Produce(key: 0, version: 7)') {
  const sentAt = Date.now() - 30_000
  return new kafkajs.KafkaJSRequestTimeoutError(`Request ${request} timed out`, {
    broker: '127.0.0.1:19092',
    clientId: 'outbox-cdc-consumer',
    correlationId: 42,
    createdAt: sentAt,
    sentAt,
    pendingDuration: 0,
  })
}

/** What a producer send or commit finally throws once kafkajs's own retrier gives up (retry/index.js). */
export function retriesExceeded(cause: Error) {
  return new kafkajs.KafkaJSNumberOfRetriesExceeded(cause, { retryCount: 5, retryTime: 7_000 })
}

/** A broker connection dropped; note the `code`, which an ECONNRESET check would also match. */
export function kafkaConnectionReset() {
  return new kafkajs.KafkaJSConnectionError('Connection error: read ECONNRESET', {
    broker: '127.0.0.1:19092',
    code: 'ECONNRESET',
  })
}

/** A server error as postgres.js raises it, wrapped by Drizzle as a failed query. */
export function postgresError(code: string, message = `server error ${code}`) {
  // postgres.js hands the constructor the parsed ErrorResponse fields (src/errors.js).
  const cause = new postgres.PostgresError({ message, severity: 'FATAL', code } as unknown as string)
  return new DrizzleQueryError('insert into "consumed_events" …', [], cause)
}

/** A dropped socket as postgres.js raises it (src/errors.js, connection()). */
export function socketError(code: 'ECONNRESET' | 'ECONNREFUSED' = 'ECONNRESET') {
  return Object.assign(new Error(`write ${code} 127.0.0.1:55432`), {
    code,
    errno: code,
    address: '127.0.0.1',
    port: 55432,
  })
}

/** A host name that does not resolve, as Node's resolver fails (a DNS outage, a failover's DNS switch). */
export function dnsError(hostname = 'db.internal') {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
    code: 'ENOTFOUND',
    errno: -3008,
    syscall: 'getaddrinfo',
    hostname,
  })
}

/** Database failures by name: transient ones (a retry can outlast them) and bugs (it cannot). */
export const databaseFaults = {
  '57P01 admin_shutdown': {
    transient: true,
    make: () => postgresError('57P01', 'terminating connection due to administrator command'),
  },
  '08006 connection_failure': { transient: true, make: () => postgresError('08006', 'connection failure') },
  '40001 serialization_failure': {
    transient: true,
    make: () => postgresError('40001', 'could not serialize access due to concurrent update'),
  },
  ECONNRESET: { transient: true, make: () => socketError('ECONNRESET') },
  'ENOTFOUND (DNS)': { transient: true, make: () => dnsError() },
  '25006 read_only_sql_transaction': {
    transient: true,
    make: () => postgresError('25006', 'cannot execute INSERT in a read-only transaction'),
  },
  '53100 disk_full': {
    transient: true,
    make: () => postgresError('53100', 'could not extend file "base/16384/16385": No space left on device'),
  },
  '23514 check_violation': {
    transient: false,
    make: () =>
      postgresError('23514', 'new row for relation "books" violates check constraint "books_stock_check"'),
  },
  'handler TypeError': {
    transient: false,
    make: () => new TypeError("Cannot read properties of undefined (reading 'stock')"),
  },
} as const
export type DatabaseFault = keyof typeof databaseFaults

/** What a heartbeat or an offset commit throws when the group or the coordinator changes. */
export const groupFaults = {
  REBALANCE_IN_PROGRESS: () => protocolError('REBALANCE_IN_PROGRESS'),
  NOT_COORDINATOR_FOR_GROUP: () => protocolError('NOT_COORDINATOR_FOR_GROUP'),
  UNKNOWN_MEMBER_ID: () => protocolError('UNKNOWN_MEMBER_ID'),
  ILLEGAL_GENERATION: () => protocolError('ILLEGAL_GENERATION'),
  'connection reset': kafkaConnectionReset,
  'request timeout': () => requestTimeout('Heartbeat(key: 12, version: 3)'),
} as const
export type GroupFault = keyof typeof groupFaults

/** What a producer send throws when the broker does not acknowledge a dead letter. */
export const sendFaults = {
  'request timeout': () => requestTimeout(),
  'retries exceeded (timeout)': () => retriesExceeded(requestTimeout()),
  'retries exceeded (not leader)': () => retriesExceeded(protocolError('NOT_LEADER_FOR_PARTITION')),
} as const
export type SendFault = keyof typeof sendFaults
