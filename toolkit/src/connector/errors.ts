import { CodedError } from '../errors.ts'

/** Waiting for a state fails with the Connect client's ConnectorStateError (TASK_FAILED, NOT_RUNNING_IN_TIME). */
export type ConnectorErrorCode =
  | 'CONFIG_REJECTED'
  | 'NOT_FOUND'
  /** Registering found the connector halted by an operator: it is left so until resumed. */
  | 'CONNECTOR_STOPPED'
  | 'CONNECTOR_PAUSED'

export class ConnectorError extends CodedError<ConnectorErrorCode> {}
