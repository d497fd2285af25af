import { CodedError } from 'outbox-cdc'

/** The ways the local stack can fail; each says what to do next in its message. */
export type StackErrorCode =
  | 'PREREQUISITE_MISSING'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'START_TIMEOUT'
  | 'JARS_UNRESOLVED'
  | 'NOT_HEALTHY'
  /** The stack folder runs another number of Kafka nodes than asked for. */
  | 'TOPOLOGY_MISMATCH'
  /** The Postgres data directory was made by another major than the server asked for. */
  | 'POSTGRES_MAJOR_MISMATCH'
  /** The file that says where the Postgres address points is missing or malformed. */
  | 'ADDRESS_TARGET_INVALID'
  /** A failover asked of a stack without a standby, or whose standby does not answer as one. */
  | 'NO_STANDBY'
  /** A failover refused: it would lose events (a slot not carried over, a standby behind; --force overrides). */
  | 'FAILOVER_UNSAFE'

export class StackError extends CodedError<StackErrorCode> {}
